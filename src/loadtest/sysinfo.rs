//! What a server process uses, read from `/proc` (Linux, same machine only).

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Usage {
    pub rss_kib: u64,
    /// User + system CPU time, in seconds.
    pub cpu_s: f64,
}

pub fn usage(pid: u32) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Usage {
        rss_kib,
        cpu_s: ticks as f64 / clock_ticks(),
    })
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a constant of the running system.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

pub fn total(pids: &[u32]) -> Usage {
    pids.iter()
        .filter_map(|p| usage(*p))
        .fold(Usage::default(), |a, u| Usage {
            rss_kib: a.rss_kib + u.rss_kib,
            cpu_s: a.cpu_s + u.cpu_s,
        })
}

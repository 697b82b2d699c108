//! Getting in: the QR code of the join link (decoded for real), the join page, and where
//! the server can be reached.

use serde_json::json;

use crate::helpers::*;

/// The dark squares of a QR code SVG, drawn as `M{x} {y}h{w}v{h}H{x}V{y}` runs, painted
/// onto a bitmap of its own size.
fn rasterise(svg: &str) -> (usize, Vec<bool>) {
    let doc = roxmltree::Document::parse(svg).expect("the QR code is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let size: usize = root
        .attribute("width")
        .and_then(|w| w.parse().ok())
        .expect("a width");
    assert_eq!(root.attribute("height"), root.attribute("width"), "square");
    let path = root
        .children()
        .find(|n| n.tag_name().name() == "path")
        .and_then(|p| p.attribute("d"))
        .expect("a path of dark squares");
    let mut pixels = vec![false; size * size];
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let nums: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().expect("a number"))
            .collect();
        let [x, y, w, h, ..] = nums[..] else {
            panic!("an unexpected path segment {rect:?}");
        };
        for row in y..(y + h).min(size) {
            for col in x..(x + w).min(size) {
                pixels[row * size + col] = true;
            }
        }
    }
    (size, pixels)
}

fn decode(svg: &str) -> String {
    let (size, pixels) = rasterise(svg);
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(size, size, |x, y| pixels[y * size + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("a readable QR code").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qr_code_reads_as_the_join_link() {
    let app = spawn_app().await;
    let host = app.guest("Host").await;
    let quiz_id = app.create_quiz(&host.token, 1).await;
    let created = app
        .create_session_with(&host.token, json!({ "quiz_id": quiz_id }))
        .await;
    let created = created.expect(201, "create session").clone();
    let code = created["session_id"].as_str().expect("code");
    let join_url = created["join_url"].as_str().expect("join_url");

    // No token needed, and the code is case-insensitive like everywhere else.
    let lower = code.to_lowercase();
    let qr = app
        .get(&format!("/api/v1/sessions/{lower}/qr.svg"), None)
        .await;
    qr.expect(200, "qr.svg");
    assert_eq!(qr.header("content-type"), "image/svg+xml");
    assert!(
        qr.header("cache-control").contains("max-age"),
        "cacheable: {:?}",
        qr.headers
    );
    assert_eq!(qr.header("x-content-type-options"), "nosniff");
    assert!(
        qr.header("content-security-policy")
            .contains("default-src 'none'")
    );
    assert_eq!(decode(&qr.text), join_url, "the QR code encodes join_url");
    assert!(join_url.ends_with(&format!("/join/{code}")), "{join_url}");

    app.get("/api/v1/sessions/ZZZZZZ/qr.svg", None)
        .await
        .expect_problem(404, "the QR code of an unknown session");

    // The join link opens the web client, with or without a code.
    for path in ["/join", &format!("/join/{code}")] {
        let page = app.get(path, None).await;
        page.expect(200, path);
        assert!(
            page.header("content-type").starts_with("text/html"),
            "{path}: {:?}",
            page.headers
        );
        assert!(page.text.contains("<html"), "{path} serves the page");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_says_where_it_can_be_reached() {
    let app = spawn_app().await;
    let info = app.get("/api/v1/server", None).await;
    let info = info.expect(200, "GET /api/v1/server");
    assert_eq!(info["public_url"], json!(app.base_url));
    assert_eq!(
        info["loopback_only"], true,
        "tests listen on 127.0.0.1: {info}"
    );
    match &info["lan_url"] {
        serde_json::Value::Null => {}
        serde_json::Value::String(url) => {
            assert!(url.starts_with("http://"), "{url}");
            assert!(
                url.ends_with(&format!(":{}", app.addr.port())),
                "the server's port: {url}"
            );
            assert!(!url.contains("127.0.0.1"), "not a loopback address: {url}");
        }
        other => panic!("lan_url is a string or null: {other}"),
    }

    let everywhere = spawn_app_with(|c| c.addr = "0.0.0.0:0".parse().unwrap()).await;
    let info = everywhere.get("/api/v1/server", None).await;
    assert_eq!(
        info.expect(200, "server on 0.0.0.0")["loopback_only"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_qr_lookups_of_unknown_codes_are_limited() {
    // Without a token the caller is its address: codes cannot be guessed through qr.svg.
    let app = spawn_app_with(|c| c.code_lookups_per_minute = 2).await;
    for code in ["ZZZZZ2", "ZZZZZ3"] {
        app.get(&format!("/api/v1/sessions/{code}/qr.svg"), None)
            .await
            .expect_problem(404, "an unknown code");
    }
    let limited = app.get("/api/v1/sessions/ZZZZZ4/qr.svg", None).await;
    limited.expect_problem(429, "a third unknown code within the minute");
    assert!(!limited.header("retry-after").is_empty());
}

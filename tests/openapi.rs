//! The committed `openapi.json` is exactly what the API serves; regenerate it
//! with `cargo run -- openapi > openapi.json`.

#[test]
fn the_committed_openapi_json_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"))
        .expect("openapi.json at the repository root");
    assert!(
        committed == api::openapi_json(),
        "openapi.json is stale: run `cargo run -- openapi > openapi.json` and commit it"
    );
}

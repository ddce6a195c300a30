//! A typed Rust client for the AsyncCheckout API, generated at build time by
//! progenitor from the repository's `openapi.json` — the document the server
//! serves. A change to the API that breaks a caller breaks this crate's
//! users at compile time.
//!
//! ```no_run
//! # async fn place() -> Result<(), Box<dyn std::error::Error>> {
//! let client = asynccheckout_client::with_api_key("http://127.0.0.1:8080", "ak_…")?;
//! let product = client.get_product("TSHIRT-M").await?;
//! println!("{} costs {}", product.name, product.price_cents);
//! # Ok(()) }
//! ```

progenitor::generate_api!(spec = "../../openapi.json", interface = Positional);

/// A client for the API at `base_url` that sends `api_key` as a bearer token.
pub fn with_api_key(base_url: &str, api_key: &str) -> Result<Client, reqwest::Error> {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {api_key}"))
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
    value.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, value);
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    Ok(Client::new_with_client(base_url, http))
}

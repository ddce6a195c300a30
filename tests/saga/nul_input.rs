//! U+0000 in every string the API takes, read from its own OpenAPI document:
//! every string field of every operation's body (keys of maps included) and
//! every string path and query parameter. PostgreSQL cannot store NUL, so
//! each must be refused as a 4xx problem that names the field, never a 5xx.
//! (Headers cannot carry NUL: HTTP itself forbids it.)

use serde_json::{Map, Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

const NUL_TEXT: &str = "a\u{0}b";

/// `$ref`s resolved, and a nullable `allOf`/`anyOf` wrapper seen through.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return resolve(spec, &spec["components"]["schemas"][name]);
    }
    for wrapper in ["allOf", "anyOf", "oneOf"] {
        if let Some(first) = schema[wrapper].as_array().and_then(|all| all.first()) {
            return resolve(spec, first);
        }
    }
    schema
}

/// A value of `schema` with every property present: its example when it has
/// one, otherwise one built from its properties.
fn instance(spec: &Value, schema: &Value) -> Value {
    let schema = resolve(spec, schema);
    if !schema["example"].is_null() {
        let mut example = schema["example"].clone();
        // Fill in optional properties the example leaves out.
        if let (Some(object), Some(properties)) =
            (example.as_object_mut(), schema["properties"].as_object())
        {
            for (name, property) in properties {
                object
                    .entry(name.clone())
                    .or_insert_with(|| instance(spec, property));
            }
        }
        return example;
    }
    if let Some(values) = schema["enum"].as_array() {
        return values[0].clone();
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut object = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                object.insert(name.clone(), instance(spec, property));
            }
            if schema["additionalProperties"].is_object() && object.is_empty() {
                object.insert("k".to_owned(), json!("v"));
            }
            Value::Object(object)
        }
        Some("array") => json!([instance(spec, &schema["items"])]),
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(true),
        _ => json!("x"),
    }
}

/// Every way to put a NUL into `value` (an instance of `schema` at `path`):
/// the body with one string replaced, and the field the API must name.
fn nul_variants(spec: &Value, schema: &Value, value: &Value, path: &str) -> Vec<(Value, String)> {
    let schema = resolve(spec, schema);
    let at = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    let mut variants = Vec::new();
    match value {
        Value::String(_) => {
            variants.push((json!(NUL_TEXT), path.to_owned()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                for (changed, field) in
                    nul_variants(spec, &schema["items"], item, &format!("{path}[{i}]"))
                {
                    let mut items = items.clone();
                    items[i] = changed;
                    variants.push((Value::Array(items), field));
                }
            }
        }
        Value::Object(object) => {
            for (key, item) in object {
                let property = schema["properties"]
                    .get(key)
                    .unwrap_or(&schema["additionalProperties"]);
                for (changed, field) in nul_variants(spec, property, item, &at(key)) {
                    let mut object = object.clone();
                    object.insert(key.clone(), changed);
                    variants.push((Value::Object(object), field));
                }
            }
            if schema["additionalProperties"].is_object() {
                // A map's keys are text too.
                let mut object = object.clone();
                object.insert(NUL_TEXT.to_owned(), json!("v"));
                variants.push((Value::Object(object), path.to_owned()));
            }
        }
        _ => {}
    }
    variants
}

/// What the API answered, checked to be a 422 problem naming `field`, or a
/// 404 problem when `field` is `None` (a path holding NUL names no resource).
async fn assert_refused(what: &str, response: reqwest::Response, field: Option<&str>) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or_default();
    let expected = if field.is_some() { 422 } else { 404 };
    assert_eq!(status, expected, "{what}: {body:#}");
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "{what}"
    );
    if let Some(field) = field {
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            fields.contains(&field),
            "{what}: {field} not named in {body:#}"
        );
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_nul_in_any_string_the_api_takes_is_a_4xx_problem(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("nul_input", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    // The sku of the order example in the document, so that body is valid
    // but for its NUL.
    system.create_product("TSHIRT-M", 1900, 5).await;
    let order = system.place("nul-base", "tok_visa", &[("MUG", 1)]).await;
    let spec = system
        .get_json(format!("{}/openapi.json", system.api))
        .await;
    // Real values for path parameters, so that only the NUL is wrong.
    let path_value = |name: &str| match name {
        "sku" => "MUG".to_owned(),
        _ => order.clone(),
    };

    let mut checked = 0;
    for (template, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let params = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let url = |nul_in: Option<&str>| {
                let mut path = template.clone();
                for param in params.iter().filter(|p| p["in"] == "path") {
                    let name = param["name"].as_str().unwrap();
                    let value = if nul_in == Some(name) {
                        "a%00b".to_owned()
                    } else {
                        path_value(name)
                    };
                    path = path.replace(&format!("{{{name}}}"), &value);
                }
                format!("{}{path}", system.api)
            };
            let request = |url: String| {
                system
                    .http
                    .request(method.clone(), url)
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            };
            for param in &params {
                let name = param["name"].as_str().unwrap();
                let schema = resolve(&spec, &param["schema"]);
                let is_text = schema["type"] == "string" || schema["enum"].is_array();
                let what = format!("{method} {template} with NUL in {name}");
                match param["in"].as_str() {
                    Some("path") if is_text => {
                        let response = request(url(Some(name))).send().await.unwrap();
                        assert_refused(&what, response, None).await;
                    }
                    Some("query") if is_text => {
                        let response = request(format!("{}?{name}=a%00b", url(None)))
                            .send()
                            .await
                            .unwrap();
                        assert_refused(&what, response, Some(name)).await;
                    }
                    _ => continue,
                }
                checked += 1;
            }
            let schema =
                &operation["requestBody"]["content"]["application/json; charset=utf-8"]["schema"];
            if schema.is_null() {
                continue;
            }
            let body = instance(&spec, schema);
            for (changed, field) in nul_variants(&spec, schema, &body, "") {
                let what = format!("{method} {template} with NUL in {field}: {changed}");
                let response = request(url(None)).json(&changed).send().await.unwrap();
                assert_refused(&what, response, Some(&field)).await;
                checked += 1;
            }
        }
    }
    // Every operation's strings: the query parameters of three lists, five
    // path ids, and the body fields of four writes.
    assert!(checked >= 20, "only {checked} NUL cases were sent");

    // Nothing of it was stored, and the order placed first is untouched.
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&system.pool)
        .await
        .unwrap();
    assert_eq!(orders, 1);
}

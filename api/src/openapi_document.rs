//! The OpenAPI document as served and committed: poem-openapi's, with what
//! it cannot declare added. Each error response gets an example of its own
//! status (poem-openapi can only put one example on the shared `Problem`
//! schema, which made every error look like a 422 in Swagger UI), and every
//! answer to a request made with a key documents the rate limit fields.

use poem_openapi::types::ToJSON;
use serde_json::Value;

use crate::http::problem::{FieldError, Problem, ProblemType};

/// `spec` (poem-openapi's document) with an example on every error response,
/// and nullable references written the plain way.
pub fn refine(spec: &str) -> String {
    let Ok(mut document) = serde_json::from_str::<Value>(spec) else {
        return spec.to_owned();
    };
    plain_nullable_references(&mut document);
    named_metadata(&mut document);
    rate_limit_headers(&mut document);
    let operations = document["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|operations| operations.values_mut());
    for operation in operations {
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let keyed = operation
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|schemes| !schemes.is_empty());
        let Some(responses) = operation["responses"].as_object_mut() else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            // Answered before the key is checked (or for no key), so without
            // the fields: a malformed, unauthenticated, stalled, too large
            // or mistyped request.
            let before_the_key = matches!(status.as_str(), "400" | "401" | "408" | "413" | "415");
            if keyed && !before_the_key {
                add_rate_limit_fields(response);
            }
            let Some(example) = status.parse().ok().and_then(|s| example_for(s, &id)) else {
                continue;
            };
            if let Some(content) = response["content"].get_mut("application/problem+json") {
                content["example"] = example;
            }
        }
    }
    serde_json::to_string_pretty(&document).unwrap_or_else(|_| spec.to_owned())
}

/// The rate limit fields (see `http::rate_limit`), as named headers.
fn rate_limit_headers(document: &mut Value) {
    let Some(components) = document["components"].as_object_mut() else {
        return;
    };
    components.insert(
        "headers".to_owned(),
        serde_json::json!({
            "RateLimitPolicy": {
                "description": "The key's rate limit (IETF httpapi draft): `\"api-key\";q=<requests>;w=1`, its sustained rate per second. Absent when the key is not limited.",
                "schema": { "type": "string" },
                "example": "\"api-key\";q=100;w=1"
            },
            "RateLimit": {
                "description": "Where the key stands: `\"api-key\";r=<requests it may make now, up to its burst>;t=<seconds until it may make its whole burst again>`.",
                "schema": { "type": "string" },
                "example": "\"api-key\";r=187;t=1"
            }
        }),
    );
}

/// `RateLimit-Policy` and `RateLimit` on an answer to a request made with a
/// key.
fn add_rate_limit_fields(response: &mut Value) {
    let Some(response) = response.as_object_mut() else {
        return;
    };
    let headers = response
        .entry("headers")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    let Some(headers) = headers.as_object_mut() else {
        return;
    };
    for (name, component) in [
        ("RateLimit-Policy", "RateLimitPolicy"),
        ("RateLimit", "RateLimit"),
    ] {
        headers.insert(
            name.to_owned(),
            serde_json::json!({ "$ref": format!("#/components/headers/{component}") }),
        );
    }
}

/// poem-openapi writes a documented, nullable reference as `allOf` of the
/// reference and a second schema holding only its description or
/// `nullable`; generators read that second schema as a new type (a Python
/// client got `OrderFailureType1`). The plain form keeps the reference alone
/// in `allOf` and the rest beside it.
fn plain_nullable_references(document: &mut Value) {
    let properties = document["components"]["schemas"]
        .as_object_mut()
        .into_iter()
        .flat_map(|schemas| schemas.values_mut())
        .filter_map(|schema| schema.get_mut("properties"))
        .filter_map(Value::as_object_mut)
        .flat_map(|properties| properties.values_mut());
    for property in properties {
        let Some(parts) = property.get_mut("allOf").and_then(Value::as_array_mut) else {
            continue;
        };
        let only_annotations = |part: &Value| {
            part.as_object().is_some_and(|fields| {
                fields
                    .keys()
                    .all(|k| matches!(k.as_str(), "description" | "nullable"))
            })
        };
        if parts.len() == 2 && parts[0].get("$ref").is_some() && only_annotations(&parts[1]) {
            parts.truncate(1);
        }
    }
}

/// An order's metadata, a map of strings, as one named schema: inline and
/// nullable, generators named it after its place (`PlaceOrderMetadataType0`).
fn named_metadata(document: &mut Value) {
    let Some(schemas) = document["components"]["schemas"].as_object_mut() else {
        return;
    };
    let mut used = false;
    for schema in schemas.values_mut() {
        let Some(metadata) = schema
            .get_mut("properties")
            .and_then(|p| p.get_mut("metadata"))
        else {
            continue;
        };
        if metadata["type"] != "object" || metadata["additionalProperties"]["type"] != "string" {
            continue;
        }
        let mut reference = serde_json::Map::new();
        if let Some(description) = metadata.get("description") {
            reference.insert("description".to_owned(), description.clone());
        }
        if metadata["nullable"] == true {
            reference.insert("nullable".to_owned(), Value::Bool(true));
        }
        reference.insert(
            "allOf".to_owned(),
            serde_json::json!([{ "$ref": "#/components/schemas/Metadata" }]),
        );
        *metadata = Value::Object(reference);
        used = true;
    }
    if used {
        schemas.insert(
            "Metadata".to_owned(),
            serde_json::json!({
                "type": "object",
                "title": "Metadata",
                "description": "The client's own keys and values, kept with the order and returned as sent.",
                "additionalProperties": { "type": "string" }
            }),
        );
    }
}

/// A truthful problem for an error `status` of the operation `operation_id`,
/// as the API would send it.
fn example_for(status: u16, operation_id: &str) -> Option<Value> {
    let problem = match status {
        400 => Problem::new(
            ProblemType::MalformedRequest,
            "the body is not valid JSON: EOF while parsing an object at line 1 column 18",
        ),
        401 => Problem::new(
            ProblemType::Unauthorized,
            "the API key is unknown or revoked; send a valid key as Authorization: Bearer <key>",
        ),
        403 => Problem::new(
            ProblemType::Forbidden,
            "the API key \"storefront\" lacks the admin scope this operation needs",
        ),
        404 => Problem::new(
            ProblemType::NotFound,
            "no order has id \"01a21436-b906-7687-8cd3-6050832ab317\"",
        ),
        409 => match operation_id {
            "cancelOrder" => Problem::new(
                ProblemType::OrderNotCancellable,
                "order 01a21436-b906-7687-8cd3-6050832ab317 is pending and its payment has started; it can no longer be cancelled",
            ),
            "createProduct" => Problem::new(
                ProblemType::Conflict,
                "a product with sku MUG already exists",
            ),
            "retryTask" => Problem::new(
                ProblemType::Conflict,
                "task 42 is not dead, so there is nothing to retry",
            ),
            _ => Problem::new(
                ProblemType::Conflict,
                "the request conflicts with the resource as it is now; read it and try again",
            ),
        },
        408 => Problem::new(
            ProblemType::RequestTimeout,
            "no part of the body arrived for 10 s (BODY_READ_TIMEOUT_SECS); the connection is \
             closed, so send the request again on a new one",
        ),
        413 => Problem::new(
            ProblemType::PayloadTooLarge,
            "the body is over 1048576 bytes",
        ),
        415 => Problem::new(
            ProblemType::UnsupportedMediaType,
            "the body is text/plain; send application/json",
        ),
        422 => Problem::invalid(vec![FieldError::new(
            "items[1].quantity",
            "must be between 1 and 1000",
        )]),
        429 => Problem::new(
            ProblemType::RateLimited,
            "the API key \"storefront\" made more requests than its limit of 100/s, burst 200 \
             allows; retry after Retry-After seconds (an order with the same Idempotency-Key)",
        ),
        500 => Problem::new(
            ProblemType::Internal,
            "the request could not be completed; retry it, and quote the X-Request-Id response \
             header if it keeps failing",
        ),
        503 => Problem::new(
            ProblemType::ServiceUnavailable,
            "the service is shedding load: the oldest waiting task is 12 s old; retry after \
             Retry-After seconds with the same Idempotency-Key",
        ),
        _ => return None,
    };
    problem.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_response_has_an_example_of_its_own_status() {
        let document: Value =
            serde_json::from_str(&crate::openapi_json()).expect("the document is JSON");
        let mut seen = 0;
        for operations in document["paths"].as_object().expect("paths").values() {
            for operation in operations.as_object().expect("operations").values() {
                for (status, response) in operation["responses"].as_object().expect("responses") {
                    let Some(content) = response["content"].get("application/problem+json") else {
                        continue;
                    };
                    let example = &content["example"];
                    assert_eq!(example["status"].to_string(), *status, "{example}");
                    assert!(
                        example["type"]
                            .as_str()
                            .is_some_and(|t| t.starts_with("/problems/")),
                        "{example}"
                    );
                    seen += 1;
                }
            }
        }
        assert!(seen > 50, "only {seen} error responses");
    }
}

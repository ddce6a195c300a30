//! A JSON string that is a string. poem-openapi's `String` also accepts JSON
//! numbers and booleans (turning `1.5` into `"1.5"`), which would let a
//! request that breaks the documented schema through; request bodies use
//! [`StrictString`] instead, documented and parsed as `type: string` only.

use std::borrow::Cow;
use std::ops::Deref;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct StrictString(pub String);

impl Deref for StrictString {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<StrictString> for String {
    fn from(value: StrictString) -> Self {
        value.0
    }
}

impl From<&str> for StrictString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl Type for StrictString {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for StrictString {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for StrictString {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ParseFromJSON;
    use serde_json::json;

    use super::StrictString;

    #[test]
    fn only_json_strings_are_strings() {
        assert_eq!(
            StrictString::parse_from_json(Some(json!("a"))).ok(),
            Some(StrictString::from("a"))
        );
        for not_a_string in [json!(1.5), json!(true), json!(null), json!([]), json!({})] {
            assert!(
                StrictString::parse_from_json(Some(not_a_string.clone())).is_err(),
                "{not_a_string}"
            );
        }
    }
}

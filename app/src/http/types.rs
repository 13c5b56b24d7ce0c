//! Wire types shared by the API modules: RFC 3339 timestamps for jiff.

use std::borrow::Cow;

use jiff::Timestamp;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

/// A `jiff::Timestamp` on the wire: an RFC 3339 string (`format: date-time`).
/// poem-openapi knows no jiff types and the orphan rule forbids implementing
/// its traits on jiff's, hence the newtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTimestamp(pub Timestamp);

impl From<Timestamp> for ApiTimestamp {
    fn from(t: Timestamp) -> Self {
        Self(t)
    }
}

impl Type for ApiTimestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
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

fn parse(value: &str) -> ParseResult<ApiTimestamp> {
    value
        .parse::<Timestamp>()
        .map(ApiTimestamp)
        .map_err(|_| ParseError::custom("not an RFC 3339 timestamp"))
}

impl ParseFromJSON for ApiTimestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => parse(&s),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ParseFromParameter for ApiTimestamp {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        parse(value)
    }
}

impl ToJSON for ApiTimestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.to_string()))
    }
}

/// An hour of the day on the wire: an integer the schema bounds to 0–23.
/// Any integer parses, so a value out of range reaches the domain and is
/// refused there with 422 (a wrong type is a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourOfDay(pub i64);

impl Type for HourOfDay {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "integer_hour".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            minimum: Some(0.0),
            maximum: Some(23.0),
            ..MetaSchema::new_with_format("integer", "int64")
        }))
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

impl ParseFromJSON for HourOfDay {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        i64::parse_from_json(value)
            .map(HourOfDay)
            .map_err(ParseError::propagate)
    }
}

impl ToJSON for HourOfDay {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(self.0))
    }
}

/// A string in a request body. poem-openapi's own `String` also takes a JSON
/// number or boolean (as its text), which the document does not allow: this
/// takes a JSON string only, so `"display_name": false` is a 400 like any
/// other schema violation. Validators (`max_length`, ...) apply to the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0
    }
}

impl Type for Text {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => Ok(Text(s)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Text {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

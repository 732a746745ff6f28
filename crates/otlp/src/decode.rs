//! Request bodies: content type, gzip, size limit, protobuf or JSON.

use std::io::Read;

use serde::de::DeserializeOwned;

/// The wire encoding of a request (and of its response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON: hex ids, camelCase names).
    Json,
}

impl Encoding {
    /// The response content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why a body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Not protobuf or JSON.
    #[error("unsupported content type {0:?}: send application/x-protobuf or application/json")]
    UnsupportedMediaType(String),
    /// A content encoding other than gzip or identity.
    #[error("unsupported content encoding {0:?}: send gzip or identity")]
    UnsupportedEncoding(String),
    /// The body (or its decompressed form) is larger than allowed.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not a valid message.
    #[error("malformed body: {0}")]
    Malformed(String),
}

/// The encoding named by a `Content-Type` header.
pub fn encoding(content_type: Option<&str>) -> Result<Encoding, DecodeError> {
    let raw = content_type.unwrap_or("");
    let mime = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(DecodeError::UnsupportedMediaType(raw.to_string())),
    }
}

/// The body with its `Content-Encoding` undone, never larger than `limit`.
pub fn inflate(
    content_encoding: Option<&str>,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecodeError> {
    let enc = content_encoding.unwrap_or("").trim().to_ascii_lowercase();
    match enc.as_str() {
        "" | "identity" => {
            if body.len() > limit {
                return Err(DecodeError::TooLarge(limit));
            }
            Ok(body.to_vec())
        }
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
            let mut reader = flate2::read::GzDecoder::new(body).take(limit as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|e| DecodeError::Malformed(format!("gzip: {e}")))?;
            if out.len() > limit {
                return Err(DecodeError::TooLarge(limit));
            }
            Ok(out)
        }
        other => Err(DecodeError::UnsupportedEncoding(other.to_string())),
    }
}

/// Decode a message in `enc`.
pub fn message<M: prost::Message + Default + DeserializeOwned>(
    enc: Encoding,
    bytes: &[u8],
) -> Result<M, DecodeError> {
    match enc {
        Encoding::Protobuf => {
            M::decode(bytes).map_err(|e| DecodeError::Malformed(format!("protobuf: {e}")))
        }
        Encoding::Json => {
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Malformed(format!("json: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn content_types_with_parameters_are_understood() {
        assert_eq!(
            encoding(Some("application/json; charset=utf-8")),
            Ok(Encoding::Json)
        );
        assert_eq!(
            encoding(Some("Application/X-Protobuf")),
            Ok(Encoding::Protobuf)
        );
        assert!(matches!(
            encoding(Some("text/plain")),
            Err(DecodeError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            encoding(None),
            Err(DecodeError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn gzip_is_bounded_after_inflating() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&vec![b'a'; 10_000]).unwrap();
        let packed = gz.finish().unwrap();
        assert_eq!(
            inflate(Some("gzip"), &packed, 10_000).unwrap().len(),
            10_000
        );
        assert_eq!(
            inflate(Some("gzip"), &packed, 9_999),
            Err(DecodeError::TooLarge(9_999))
        );
        assert!(matches!(
            inflate(Some("gzip"), b"not gzip", 100),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            inflate(Some("br"), b"x", 100),
            Err(DecodeError::UnsupportedEncoding(_))
        ));
    }
}

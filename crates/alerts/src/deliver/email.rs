//! The e-mail channel: one plain-text message over SMTP (lettre, rustls with *ring*).

use std::str::FromStr;

use clawscope_core::alert::Notification;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::config::{EmailConfig, EmailTls};
use super::format;
use super::http::REQUEST_TIMEOUT;
use super::secret::scrub;
use super::DeliveryError;

/// Build the message: subject = title, body = the plain-text format.
fn message(c: &EmailConfig, n: &Notification) -> Result<Message, DeliveryError> {
    let mailbox = |field: &str, s: &str| {
        Mailbox::from_str(s.trim())
            .map_err(|e| DeliveryError::permanent(format!("email `{field}` {s:?}: {e}")))
    };
    let mut b = Message::builder()
        .from(mailbox("from", &c.from)?)
        .subject(format::email_subject(n))
        .message_id(None)
        .header(ContentType::TEXT_PLAIN);
    for to in &c.to {
        b = b.to(mailbox("to", to)?);
    }
    b.body(format::plain_text(n))
        .map_err(|e| DeliveryError::permanent(format!("email: could not build the message: {e}")))
}

/// TLS parameters: the platform's roots plus `ca_file`'s certificates.
fn tls_parameters(c: &EmailConfig) -> Result<TlsParameters, DeliveryError> {
    let mut b = TlsParameters::builder(c.host.trim().to_string());
    if let Some(path) = &c.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            DeliveryError::permanent(format!("email `ca_file` {}: {e}", path.display()))
        })?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            DeliveryError::permanent(format!("email `ca_file` {}: {e}", path.display()))
        })?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls()
        .map_err(|e| DeliveryError::permanent(format!("email: TLS setup failed: {e}")))
}

/// Send one mail. SMTP 5xx answers are permanent, 4xx and connection, TLS and timeout
/// failures retriable. Returns `SMTP <code>`.
pub(crate) async fn send(c: &EmailConfig, n: &Notification) -> Result<String, DeliveryError> {
    let msg = message(c, n)?;
    let tls = match c.tls {
        EmailTls::StartTls => Tls::Required(tls_parameters(c)?),
        EmailTls::Tls => Tls::Wrapper(tls_parameters(c)?),
        EmailTls::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.host.trim())
        .port(c.port)
        .tls(tls)
        .timeout(Some(REQUEST_TIMEOUT));
    let mut secrets: Vec<&str> = Vec::new();
    if let (Some(user), Some(pass)) = (&c.username, &c.password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
        secrets.push(pass.expose());
    }
    let transport = builder.build();
    match transport.send(msg).await {
        Ok(resp) => Ok(format!("SMTP {}", resp.code())),
        Err(e) => {
            let retriable = !(e.is_permanent() || e.is_client());
            let mut text = e.to_string();
            let mut cur = std::error::Error::source(&e);
            while let Some(s) = cur {
                let s_text = s.to_string();
                if !text.contains(&s_text) {
                    text.push_str(": ");
                    text.push_str(&s_text);
                }
                cur = s.source();
            }
            Err(DeliveryError {
                retriable,
                message: scrub(&format!("SMTP {}:{}: {text}", c.host, c.port), &secrets),
            })
        }
    }
}

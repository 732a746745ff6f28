//! Browser sign-in for servers with a token: a form that takes the token and sets an
//! HttpOnly, SameSite=Strict session cookie (the browser's live feed cannot send a
//! bearer header). Sessions live in memory; a restart signs everyone out. Every POST
//! form carries a CSRF token: per sign-in, or per process when no token is set.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use clawscope_core::redact::same_secret;

use super::render;
use crate::AppState;

/// Cookie that carries the sign-in.
pub const COOKIE: &str = "clawscope_session";
/// How long a sign-in lasts.
const TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// Sign-ins kept at most (oldest dropped first).
const MAX_LOGINS: usize = 4096;

struct Login {
    expires_ms: i64,
    csrf: String,
}

/// Signed-in browser sessions and the CSRF secret.
pub struct Logins {
    by_id: Mutex<HashMap<String, Login>>,
    process_csrf: String,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Logins")
    }
}

/// 32 random bytes as hex; `None` without OS randomness (then nobody can sign in and
/// every form is refused, rather than guessable secrets).
fn random_hex() -> Option<String> {
    let mut b = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut b) {
        tracing::error!(error = %e, "no OS randomness: sign-in and forms are refused");
        return None;
    }
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

impl Default for Logins {
    fn default() -> Self {
        Logins {
            by_id: Mutex::new(HashMap::new()),
            // Empty: `csrf_ok` refuses every form.
            process_csrf: random_hex().unwrap_or_default(),
        }
    }
}

impl Logins {
    /// The current sign-in the request's cookie names: its id and CSRF token.
    fn current(&self, headers: &HeaderMap) -> Option<(String, String)> {
        let id = cookie_value(headers)?;
        let map = self.by_id.lock().ok()?;
        map.iter()
            .find(|(k, l)| same_secret(k, id) && l.expires_ms > now_ms())
            .map(|(k, l)| (k.clone(), l.csrf.clone()))
    }

    /// The sign-in id the request's cookie names, when it is current.
    pub fn session_of(&self, headers: &HeaderMap) -> Option<String> {
        self.current(headers).map(|(id, _)| id)
    }

    /// Whether the request is signed in, and the CSRF token its page's forms carry.
    pub fn frame(&self, headers: &HeaderMap) -> (bool, String) {
        match self.current(headers) {
            Some((_, csrf)) => (true, csrf),
            None => (false, self.process_csrf.clone()),
        }
    }

    /// The CSRF token forms on this request's pages carry.
    pub fn csrf_for(&self, headers: &HeaderMap) -> String {
        self.frame(headers).1
    }

    /// Whether `given` is the CSRF token for this request.
    pub fn csrf_ok(&self, headers: &HeaderMap, given: &str) -> bool {
        !given.is_empty() && same_secret(given, &self.csrf_for(headers))
    }

    fn create(&self) -> Option<String> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let mut map = self.by_id.lock().ok()?;
        let now = now_ms();
        map.retain(|_, l| l.expires_ms > now);
        if map.len() >= MAX_LOGINS {
            let oldest = map
                .iter()
                .min_by_key(|(_, l)| l.expires_ms)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert(
            id.clone(),
            Login {
                expires_ms: now + TTL_MS,
                csrf,
            },
        );
        Some(id)
    }

    fn remove(&self, id: &str) {
        if let Ok(mut m) = self.by_id.lock() {
            m.remove(id);
        }
    }
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub next: String,
    pub error: Option<String>,
}

/// Where to go after signing in: a local path only (no `//host`, no scheme).
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and line breaks before resolving a URL, so `/\t/host` would
        // become `//host`: anything but printable ASCII is refused outright.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| (0x21..0x7f).contains(&b)) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login`.
pub async fn form(
    State(st): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Response {
    let started = Instant::now();
    if st.token.is_none() {
        return Redirect::to("/").into_response();
    }
    render::html(
        &LoginPage {
            next: safe_next(q.next.as_deref()),
            error: None,
        },
        started,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    next: Option<String>,
}

/// `POST /login`: a right token sets the cookie and goes on; a wrong one shows the form
/// again after a pause (slows guessing).
pub async fn submit(State(st): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let started = Instant::now();
    let next = safe_next(f.next.as_deref());
    let Some(token) = st.token.as_deref() else {
        return Redirect::to(&next).into_response();
    };
    if !same_secret(f.token.trim(), token) {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        tracing::warn!("dashboard sign-in with a wrong token");
        return render::html_status(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                next,
                error: Some("That token is not right.".into()),
            },
            started,
        );
    }
    let Some(id) = st.logins.create() else {
        return render::error(crate::ApiError::Internal("sign-in table".into()), started);
    };
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        TTL_MS / 1000
    );
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !st.logins.csrf_ok(&headers, &f.csrf) {
        return (StatusCode::FORBIDDEN, "missing or wrong CSRF token").into_response();
    }
    if let Some(id) = st.logins.session_of(&headers) {
        st.logins.remove(&id);
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "clawscope_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

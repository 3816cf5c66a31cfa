//! Signing in: password, then TOTP (or enrolment of the authenticator the first time), and
//! signing out. Every attempt is rate limited per address and written to the audit log.
use crate::auth::{self, CodeCheck, PasswordCheck, Session, Stage};
use crate::html::{bare, csrf_field, E};
use crate::{cookie, page_error, ClientIp, Console, PRE_COOKIE, SESSION_COOKIE};
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;

fn internal(e: crate::ConsoleError) -> Response {
    tracing::error!("login: {e}");
    page_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        "Something went wrong on the server; see its log.",
    )
}

fn login_form(pre: &str, user: &str, message: Option<(&str, &str)>, no_users: bool) -> String {
    let mut body = String::from("<h1>Sign in</h1>");
    if no_users {
        body.push_str(
            "<div class=\"notice\"><b>No users yet.</b> Create the first administrator on the \
             sensor:<br><code>sluice user add NAME --role admin --db STORE</code><br>It asks for \
             a password and prints the authenticator enrolment link.</div>",
        );
    }
    if let Some((class, text)) = message {
        body.push_str(&format!("<div class=\"{class}\">{}</div>", E(text)));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/login\" id=\"login\">{}\
         <label>User name<input name=\"username\" autocomplete=\"username\" autofocus required value=\"{}\"></label>\
         <label>Password<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Continue</button></form>\
         <p class=\"muted\">Every user signs in with a password and a code from an authenticator app.</p>",
        csrf_field(pre),
        E(user)
    ));
    bare("Sign in", &body)
}

/// `GET /login`.
pub async fn login_page(State(c): State<Console>, headers: HeaderMap) -> Response {
    // Already signed in: go to the overview.
    if let Some(s) = cookie(&headers, SESSION_COOKIE).map(str::to_owned) {
        if let Ok(Some(sess)) = c.db().run(move |conn| auth::load_session(conn, &s)).await {
            if sess.stage == Stage::Full {
                return Redirect::to("/").into_response();
            }
        }
    }
    let pre = match auth::random_hex(16) {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let users = c.db().run(auth::user_count).await.unwrap_or(1);
    (
        [(header::SET_COOKIE, c.session_cookie(PRE_COOKIE, &pre))],
        Html(login_form(&pre, "", None, users == 0)),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

fn refuse(c: &Console, status: StatusCode, user: &str, msg: &str) -> Response {
    let pre = auth::random_hex(16).unwrap_or_default();
    (
        status,
        [(header::SET_COOKIE, c.session_cookie(PRE_COOKIE, &pre))],
        Html(login_form(&pre, user, Some(("error", msg)), false)),
    )
        .into_response()
}

fn until_text(t: i64) -> String {
    crate::html::ts(t.saturating_mul(1_000_000_000))
}

/// `POST /login`: the password step.
pub async fn login_submit(
    State(c): State<Console>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    // Login CSRF: the form's token must match the cookie set with the form.
    let pre_ok = cookie(&headers, PRE_COOKIE)
        .is_some_and(|p| !f.csrf.is_empty() && auth::constant_time_eq(p, &f.csrf));
    if !pre_ok {
        return refuse(
            &c,
            StatusCode::FORBIDDEN,
            &f.username,
            "The form expired. Please sign in again.",
        );
    }
    if !c.allow_attempt(&ip) {
        let (u, i) = (f.username.clone(), ip.clone());
        let _ = c
            .db()
            .run(move |conn| {
                auth::audit(
                    conn,
                    Some(&u),
                    &i,
                    "login",
                    "rate_limited",
                    "too many attempts",
                )
            })
            .await;
        return refuse(
            &c,
            StatusCode::TOO_MANY_REQUESTS,
            &f.username,
            "Too many sign-in attempts from this address. Wait a few minutes.",
        );
    }
    let user = f.username.trim().to_string();
    let (u, pw, i) = (user.clone(), f.password, ip.clone());
    let result = c
        .db()
        .run(move |conn| {
            let r = auth::check_password(conn, &u, &pw)?;
            let (outcome, detail) = match &r {
                PasswordCheck::Ok { .. } => ("password_ok", String::new()),
                PasswordCheck::Wrong => ("failure", "wrong user name or password".into()),
                PasswordCheck::Locked(t) => ("locked", format!("locked until {t}")),
                PasswordCheck::Disabled => ("failure", "account disabled".into()),
            };
            auth::audit(conn, Some(&u), &i, "login.password", outcome, &detail)?;
            let token = match &r {
                PasswordCheck::Ok { enrolled } => {
                    let stage = if *enrolled { Stage::Totp } else { Stage::Enrol };
                    Some((auth::create_session(conn, &u, stage, &i)?, stage))
                }
                _ => None,
            };
            Ok((r, token))
        })
        .await;
    match result {
        Ok((_, Some((token, stage)))) => {
            let to = if stage == Stage::Enrol {
                "/enrol"
            } else {
                "/login/totp"
            };
            (
                axum::response::AppendHeaders([
                    (header::SET_COOKIE, c.session_cookie(SESSION_COOKIE, &token)),
                    (header::SET_COOKIE, c.clear_cookie(PRE_COOKIE)),
                ]),
                Redirect::to(to),
            )
                .into_response()
        }
        Ok((PasswordCheck::Locked(t), _)) => refuse(
            &c,
            StatusCode::FORBIDDEN,
            &user,
            &format!(
                "Too many failed attempts: this account is locked until {} UTC.",
                until_text(t)
            ),
        ),
        Ok(_) => refuse(
            &c,
            StatusCode::UNAUTHORIZED,
            &user,
            "Wrong user name or password.",
        ),
        Err(e) => internal(e),
    }
}

fn code_form(action: &str, csrf: &str, message: Option<&str>) -> String {
    let mut o = String::new();
    if let Some(m) = message {
        o.push_str(&format!("<div class=\"error\">{}</div>", E(m)));
    }
    o.push_str(&format!(
        "<form method=\"post\" action=\"{action}\" id=\"totp\">{}\
         <label>6-digit code<input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         pattern=\"[0-9 ]{{6,7}}\" maxlength=\"7\" autofocus required></label>\
         <button type=\"submit\">Verify</button></form>\
         <form method=\"post\" action=\"/logout\">{}<button class=\"link\" type=\"submit\">Cancel</button></form>",
        csrf_field(csrf),
        csrf_field(csrf)
    ));
    o
}

fn totp_html(s: &Session, message: Option<&str>) -> String {
    bare(
        "Verification code",
        &format!(
            "<h1>Verification code</h1><p class=\"muted\">Signed in as <b>{}</b>. Enter the code \
             your authenticator app shows for Sluice.</p>{}",
            E(&s.user),
            code_form("/login/totp", &s.csrf, message)
        ),
    )
}

/// `GET /login/totp`.
pub async fn totp_page(Extension(s): Extension<Session>) -> Response {
    if s.stage == Stage::Enrol {
        return Redirect::to("/enrol").into_response();
    }
    Html(totp_html(&s, None)).into_response()
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Checks a code and, when right, replaces the half-done session by a full one.
async fn finish(
    c: &Console,
    s: &Session,
    ip: &str,
    headers: &HeaderMap,
    code: String,
    action: &'static str,
) -> Result<Result<String, (StatusCode, String, bool)>, crate::ConsoleError> {
    if !c.allow_attempt(ip) {
        let (u, i) = (s.user.clone(), ip.to_string());
        c.db()
            .run(move |conn| {
                auth::audit(
                    conn,
                    Some(&u),
                    &i,
                    action,
                    "rate_limited",
                    "too many attempts",
                )
            })
            .await?;
        return Ok(Err((
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts from this address. Wait a few minutes.".into(),
            false,
        )));
    }
    let old = cookie(headers, SESSION_COOKIE)
        .unwrap_or_default()
        .to_string();
    let (u, i) = (s.user.clone(), ip.to_string());
    c.db()
        .run(move |conn| {
            let r = auth::check_code(conn, &u, &code, auth::now())?;
            match r {
                CodeCheck::Ok => {
                    auth::end_session(conn, &old)?;
                    let token = auth::create_session(conn, &u, Stage::Full, &i)?;
                    auth::audit(conn, Some(&u), &i, action, "success", "")?;
                    Ok(Ok(token))
                }
                CodeCheck::Wrong | CodeCheck::Replayed => {
                    let why = if r == CodeCheck::Replayed {
                        "code already used"
                    } else {
                        "wrong code"
                    };
                    auth::audit(conn, Some(&u), &i, action, "failure", why)?;
                    Ok(Err((
                        StatusCode::UNAUTHORIZED,
                        if r == CodeCheck::Replayed {
                            "That code was already used. Wait for the next one.".to_string()
                        } else {
                            "Wrong code. Check your authenticator app's clock and try again."
                                .to_string()
                        },
                        false,
                    )))
                }
                CodeCheck::Locked(t) => {
                    auth::end_session(conn, &old)?;
                    auth::audit(conn, Some(&u), &i, action, "locked", &format!("until {t}"))?;
                    Ok(Err((
                        StatusCode::FORBIDDEN,
                        format!(
                            "Too many failed attempts: this account is locked until {} UTC.",
                            until_text(t)
                        ),
                        true,
                    )))
                }
            }
        })
        .await
}

async fn code_submit(
    c: Console,
    s: Session,
    ip: String,
    headers: HeaderMap,
    code: String,
    action: &'static str,
) -> Response {
    match finish(&c, &s, &ip, &headers, code, action).await {
        Ok(Ok(token)) => (
            [(header::SET_COOKIE, c.session_cookie(SESSION_COOKIE, &token))],
            Redirect::to("/"),
        )
            .into_response(),
        Ok(Err((status, msg, ended))) => {
            if ended {
                // The half-done session is gone: back to a fresh login form.
                return refuse(&c, status, &s.user, &msg);
            }
            let page = if action == "login.enrol" {
                match enrol_html(&c, &s, Some(&msg)).await {
                    Ok(p) => p,
                    Err(e) => return internal(e),
                }
            } else {
                totp_html(&s, Some(&msg))
            };
            (status, Html(page)).into_response()
        }
        Err(e) => internal(e),
    }
}

/// `POST /login/totp`.
pub async fn totp_submit(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    if s.stage != Stage::Totp {
        return Redirect::to("/enrol").into_response();
    }
    code_submit(c, s, ip, headers, f.code, "login.totp").await
}

async fn enrol_html(
    c: &Console,
    s: &Session,
    message: Option<&str>,
) -> Result<String, crate::ConsoleError> {
    let u = s.user.clone();
    let secret = c
        .db()
        .run(move |conn| auth::totp_secret(conn, &u))
        .await?
        .map(|(s, _)| s)
        .unwrap_or_default();
    let uri = auth::otpauth_uri(&s.user, &secret)?;
    let qr = crate::svg::qr(&uri).unwrap_or_default();
    Ok(bare(
        "Set up your authenticator",
        &format!(
            "<h1>Set up your authenticator</h1><p class=\"muted\">Every Sluice user signs in with a \
             second factor. Scan this code with an authenticator app (or enter the key by hand), \
             then type the 6-digit code it shows.</p><div class=\"qr\" id=\"qr\">{qr}</div>\
             <p class=\"uri\">Key: <code id=\"secret\">{}</code><br><a href=\"{}\" id=\"otpauth\">{}</a></p>{}",
            E(&secret),
            E(&uri),
            E(&uri),
            code_form("/enrol", &s.csrf, message)
        ),
    ))
}

/// `GET /enrol`: the QR code and key of the user's TOTP secret.
pub async fn enrol_page(State(c): State<Console>, Extension(s): Extension<Session>) -> Response {
    if s.stage != Stage::Enrol {
        return Redirect::to("/login/totp").into_response();
    }
    match enrol_html(&c, &s, None).await {
        Ok(p) => Html(p).into_response(),
        Err(e) => internal(e),
    }
}

/// `POST /enrol`: the first code confirms the enrolment and signs in.
pub async fn enrol_submit(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    if s.stage != Stage::Enrol {
        return Redirect::to("/login/totp").into_response();
    }
    code_submit(c, s, ip, headers, f.code, "login.enrol").await
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout` (also cancels a half-done login). Needs the session's CSRF token.
pub async fn logout(
    State(c): State<Console>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Response {
    let token = cookie(&headers, SESSION_COOKIE)
        .unwrap_or_default()
        .to_string();
    let ended = c
        .db()
        .run(move |conn| {
            let Some(s) = auth::load_session(conn, &token)? else {
                return Ok(true);
            };
            if f.csrf.is_empty() || !auth::constant_time_eq(&f.csrf, &s.csrf) {
                return Ok(false);
            }
            auth::end_session(conn, &token)?;
            auth::audit(conn, Some(&s.user), &ip, "logout", "success", "")?;
            Ok(true)
        })
        .await;
    match ended {
        Ok(true) => (
            [(header::SET_COOKIE, c.clear_cookie(SESSION_COOKIE))],
            Redirect::to("/login"),
        )
            .into_response(),
        Ok(false) => page_error(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form's security token is missing or wrong. Reload the page and try again.",
        ),
        Err(e) => internal(e),
    }
}

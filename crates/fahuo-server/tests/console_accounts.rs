//! 子账号 and 操作日志: sub-accounts with roles and scopes, invitations, the users API's rules,
//! and the audit trail page — over real HTTP, on both databases.

mod common;
use common::*;

both_backends!(
    an_invited_user_logs_in_with_the_invitations_role_and_scope,
    used_revoked_expired_and_unknown_links_are_refused,
    only_the_owner_makes_admins_and_nobody_demotes_or_disables_the_owner,
    disabling_ends_sessions_and_tokens_at_once,
    scopes_are_loaded_into_sessions_and_tokens,
    the_accounts_page_lists_staff_scopes_and_invites_to_managers_only,
    the_audit_page_filters_pages_and_masks,
);

async fn api(
    s: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call(
        &client(),
        method,
        format!("{}{path}", s.base),
        Some(token),
        body,
    )
    .await
}

/// A request from a logged-in console client (session cookie + CSRF token).
async fn as_session(
    c: &Client,
    csrf: &str,
    s: &Server,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = c
        .request(method, format!("{}{path}", s.base))
        .header("x-csrf-token", csrf);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn second_warehouse(s: &Server, m: &Merchant) -> i64 {
    let (status, w) = api(
        s,
        &m.token,
        Method::POST,
        "/api/v1/warehouses",
        Some(json!({"code": "SZ01", "name": "深圳仓", "province": "广东省", "city": "深圳市", "county": "南山区", "address": "科技园1号"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    w["id"].as_i64().unwrap()
}

async fn user_id(s: &Server, m: &Merchant, username: &str) -> i64 {
    let (_, users) = api(s, &m.token, Method::GET, "/api/v1/users", None).await;
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("{username} in {users}"))["id"]
        .as_i64()
        .unwrap()
}

/// Submits the invitee's form on an invitation page.
async fn accept(
    s: &Server,
    path: &str,
    username: &str,
    password: &str,
    again: &str,
) -> (StatusCode, String) {
    accept_in(&client(), s, path, username, password, again).await
}

/// [`accept`] in the invitee's own browser (its cookies kept).
async fn accept_in(
    c: &reqwest::Client,
    s: &Server,
    path: &str,
    username: &str,
    password: &str,
    again: &str,
) -> (StatusCode, String) {
    let resp = c
        .post(format!("{}{path}", s.base))
        .form(&[
            ("username", username),
            ("display_name", "小王"),
            ("password", password),
            ("password_again", again),
        ])
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn login_status(s: &Server, username: &str, password: &str) -> StatusCode {
    call(
        &client(),
        Method::POST,
        format!("{}/api/v1/auth/login", s.base),
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
    .0
}

async fn an_invited_user_logs_in_with_the_invitations_role_and_scope(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let other_warehouse = second_warehouse(&s, &m).await;
    let (status, created) = api(
        &s,
        &m.token,
        Method::POST,
        "/api/v1/invites",
        Some(json!({"role": "warehouse", "scope": {"shops": null, "warehouses": [m.warehouse]}, "note": "仓库小王"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = created["path"].as_str().unwrap().to_string();
    let token = path.strip_prefix("/invite/").unwrap().to_string();
    assert!(token.len() >= 32, "a long random token: {token}");
    assert_eq!(created["invite"]["role"], "warehouse");
    let expires =
        chrono::DateTime::parse_from_rfc3339(created["invite"]["expires_at"].as_str().unwrap())
            .unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "valid for 7 days: {days} h");

    // The pending list shows the invitation but never its token again.
    let (_, pending) = api(&s, &m.token, Method::GET, "/api/v1/invites", None).await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["note"], "仓库小王");
    assert!(!pending.to_string().contains(&token));

    // The invitee opens the link without any session and chooses a username and password.
    let (status, html) = page(&client(), &s, &path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"accept-form\"") && html.contains("仓库"));
    let (status, html) = accept(&s, &path, "wh-wang", "short", "short").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("密码至少 8 个字符"), "{html}");
    let (status, html) = accept(&s, &path, "wh-wang", "wang-password", "wang-passw0rd").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("两次输入的密码不一致"));
    let (status, html) = accept(&s, &path, "alice", "wang-password", "wang-password").await;
    assert_eq!(status, StatusCode::CONFLICT, "a taken username: {html}");
    // Accepted: the new colleague is logged in and lands in the console.
    let browser = client();
    let (status, html) = accept_in(
        &browser,
        &s,
        &path,
        "wh-wang",
        "wang-password",
        "wang-password",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (status, me) = call(
        &browser,
        Method::GET,
        format!("{}/api/v1/me", s.base),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the invitee's session: {me}");
    assert_eq!(me["user"]["username"], "wh-wang", "{me}");

    // The link is used up: it shows so, and creates nothing more.
    let (status, html) = page(&client(), &s, &path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("已经被使用过") && !html.contains("accept-form"));
    let (status, _) = accept(&s, &path, "wh-wang2", "wang-password", "wang-password").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(
        login_status(&s, "wh-wang2", "wang-password").await,
        StatusCode::UNAUTHORIZED
    );
    let (_, pending) = api(&s, &m.token, Method::GET, "/api/v1/invites", None).await;
    assert_eq!(pending, json!([]));

    // The account has the invitation's role and scope.
    let (_, users) = api(&s, &m.token, Method::GET, "/api/v1/users", None).await;
    let wang = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "wh-wang")
        .unwrap()
        .clone();
    assert_eq!(wang["role"], "warehouse");
    assert_eq!(wang["display_name"], "小王");
    assert_eq!(
        wang["scope"],
        json!({"shops": null, "warehouses": [m.warehouse]})
    );
    let c = client();
    let csrf = login(&c, &s, "wh-wang", "wang-password").await;
    let (_, me) = as_session(&c, &csrf, &s, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["role"], "warehouse", "{me}");
    let (_, warehouses) = as_session(&c, &csrf, &s, Method::GET, "/api/v1/warehouses", None).await;
    let ids: Vec<i64> = warehouses
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![m.warehouse], "only the scoped warehouse");
    let inbound =
        |w: i64| json!({"warehouse_id": w, "sku_id": m.sku, "kind": "inbound", "quantity": 5});
    let (status, _) = as_session(
        &c,
        &csrf,
        &s,
        Method::POST,
        "/api/v1/stock/movements",
        Some(inbound(other_warehouse)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another warehouse's stock");
    let (status, _) = as_session(
        &c,
        &csrf,
        &s,
        Method::POST,
        "/api/v1/stock/movements",
        Some(inbound(m.warehouse)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The owner stocks the other warehouse; the scoped user never sees that row.
    let (status, _) = api(
        &s,
        &m.token,
        Method::POST,
        "/api/v1/stock/movements",
        Some(inbound(other_warehouse)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, stock) = as_session(&c, &csrf, &s, Method::GET, "/api/v1/stock", None).await;
    assert!(
        stock
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["warehouse_id"] == m.warehouse),
        "{stock}"
    );
    let (status, _) = as_session(
        &c,
        &csrf,
        &s,
        Method::GET,
        &format!(
            "/api/v1/stock/ledger?warehouse_id={other_warehouse}&sku_id={}",
            m.sku
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = as_session(
        &c,
        &csrf,
        &s,
        Method::POST,
        "/api/v1/stock/transfers",
        Some(json!({"from_warehouse_id": m.warehouse, "to_warehouse_id": other_warehouse, "sku_id": m.sku, "units": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, owner_stock) = api(&s, &m.token, Method::GET, "/api/v1/stock", None).await;
    assert!(
        owner_stock
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["warehouse_id"] == other_warehouse),
        "the owner sees every warehouse"
    );

    // Both steps are in the audit trail.
    let (_, audit) = api(
        &s,
        &m.token,
        Method::GET,
        "/api/v1/audit?action=invite",
        None,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["invite.accept", "invite.create"]);
    assert!(!audit.to_string().contains(&token), "no token in the audit");
}

async fn used_revoked_expired_and_unknown_links_are_refused(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let (_, created) = api(
        &s,
        &m.token,
        Method::POST,
        "/api/v1/invites",
        Some(json!({"role": "viewer"})),
    )
    .await;
    let path = created["path"].as_str().unwrap().to_string();
    let id = created["invite"]["id"].as_i64().unwrap();
    let (status, _) = api(
        &s,
        &m.token,
        Method::DELETE,
        &format!("/api/v1/invites/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, html) = page(&client(), &s, &path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("已被撤销") && !html.contains("accept-form"));
    let (status, _) = accept(&s, &path, "revoked-user", "pass-word-1", "pass-word-1").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(
        login_status(&s, "revoked-user", "pass-word-1").await,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = api(
        &s,
        &m.token,
        Method::DELETE,
        &format!("/api/v1/invites/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked once");

    // An invitation made eight days ago has expired.
    let (_, me) = api(&s, &m.token, Method::GET, "/api/v1/me", None).await;
    let tenant = fahuo_domain::TenantId(me["tenant_id"].as_i64().unwrap());
    let past = App::new(
        app.store().clone(),
        std::sync::Arc::new(fahuo_app::ManualClock::new(
            chrono::Utc::now() - chrono::Duration::days(8),
        )),
        Settings::default(),
    );
    let old = past
        .create_invite(
            &fahuo_app::Actor::cli(tenant),
            fahuo_domain::Role::Viewer,
            fahuo_domain::Scope::all(),
            "old",
        )
        .await
        .unwrap();
    let expired = format!("/invite/{}", old.token);
    let (status, html) = page(&client(), &s, &expired).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("已过期"), "{html}");
    let (status, _) = accept(&s, &expired, "late-user", "pass-word-1", "pass-word-1").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(
        login_status(&s, "late-user", "pass-word-1").await,
        StatusCode::UNAUTHORIZED
    );
    let (_, pending) = api(&s, &m.token, Method::GET, "/api/v1/invites", None).await;
    assert_eq!(pending, json!([]), "expired and revoked are not pending");

    // A made-up link, in English.
    let resp = client()
        .get(format!("{}/invite/not-a-real-token", s.base))
        .header("cookie", "fahuo_lang=en")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await.unwrap().contains("not valid"));
}

async fn only_the_owner_makes_admins_and_nobody_demotes_or_disables_the_owner(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let (admin, admin_csrf) = sub_account(&s, &m, "adm", "admin").await;
    let (service, service_csrf) = sub_account(&s, &m, "kefu", "service").await;
    let owner_id = user_id(&s, &m, "alice").await;
    let admin_id = user_id(&s, &m, "adm").await;
    let kefu_id = user_id(&s, &m, "kefu").await;
    let a = |method: Method, path: String, body: Value| {
        let (c, csrf) = (&admin, &admin_csrf);
        let s = &s;
        async move { as_session(c, csrf, s, method, &path, Some(body)).await }
    };

    // An admin manages the other roles, but neither makes nor changes admins.
    let (status, _) = a(
        Method::POST,
        "/api/v1/users".into(),
        json!({"username": "adm2", "role": "admin", "password": "member-password"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = a(
        Method::POST,
        "/api/v1/invites".into(),
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = a(
        Method::POST,
        "/api/v1/users".into(),
        json!({"username": "fin", "role": "finance", "password": "member-password", "scope": {"shops": [m.shop], "warehouses": null}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = a(
        Method::PATCH,
        format!("/api/v1/users/{kefu_id}"),
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an admin makes no admins");
    let (status, body) = a(
        Method::PATCH,
        format!("/api/v1/users/{kefu_id}"),
        json!({"role": "logistics", "display_name": "物流小李"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "logistics");
    // Nobody raises their own role.
    let (status, _) = a(
        Method::PATCH,
        format!("/api/v1/users/{admin_id}"),
        json!({"role": "owner"}),
    )
    .await;
    assert!(status.is_client_error() && status != StatusCode::NOT_FOUND);
    // The owner's role and status are nobody's to change, not even the owner's.
    for body in [json!({"role": "viewer"}), json!({"disabled": true})] {
        let (status, _) = a(
            Method::PATCH,
            format!("/api/v1/users/{owner_id}"),
            body.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "admin: {body}");
        let (status, _) = api(
            &s,
            &m.token,
            Method::PATCH,
            &format!("/api/v1/users/{owner_id}"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "owner: {body}");
    }
    // The owner makes and unmakes admins.
    let (status, body) = api(
        &s,
        &m.token,
        Method::PATCH,
        &format!("/api/v1/users/{kefu_id}"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["scope"],
        json!({"shops": null, "warehouses": null}),
        "admins see all"
    );
    let (status, _) = api(
        &s,
        &m.token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Scopes name only the tenant's own shops and warehouses.
    let (status, body) = api(
        &s,
        &m.token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"scope": {"shops": [b.shop], "warehouses": null}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = api(
        &s,
        &m.token,
        Method::POST,
        "/api/v1/invites",
        Some(json!({"role": "viewer", "scope": {"shops": null, "warehouses": [b.warehouse]}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A role without ManageUsers changes nobody; another tenant cannot reach A's users.
    let (status, _) = as_session(
        &service,
        &service_csrf,
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{owner_id}"),
        Some(json!({"display_name": "x"})),
    )
    .await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED
    ));
    let (status, _) = api(
        &s,
        &b.token,
        Method::PATCH,
        &format!("/api/v1/users/{kefu_id}"),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, created) = api(
        &s,
        &m.token,
        Method::POST,
        "/api/v1/invites",
        Some(json!({"role": "viewer"})),
    )
    .await;
    let (status, _) = api(
        &s,
        &b.token,
        Method::DELETE,
        &format!("/api/v1/invites/{}", created["invite"]["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, b_users) = api(&s, &b.token, Method::GET, "/api/v1/users", None).await;
    let (_, b_invites) = api(&s, &b.token, Method::GET, "/api/v1/invites", None).await;
    assert!(!b_users.to_string().contains("alice") && !b_users.to_string().contains("kefu"));
    assert_eq!(b_invites, json!([]));
    // Every change is audited with its before and after.
    let (_, audit) = api(
        &s,
        &m.token,
        Method::GET,
        &format!("/api/v1/audit?entity_type=user&entity_id={kefu_id}"),
        None,
    )
    .await;
    let entries = audit["items"].as_array().unwrap();
    let promoted = entries
        .iter()
        .find(|e| e["after"]["role"] == "admin")
        .expect("the promotion is audited");
    assert_eq!(promoted["action"], "user.update");
    assert_eq!(promoted["before"]["role"], "logistics");
}

async fn disabling_ends_sessions_and_tokens_at_once(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let (adm, csrf) = sub_account(&s, &m, "adm", "admin").await;
    let (status, created) = as_session(
        &adm,
        &csrf,
        &s,
        Method::POST,
        "/api/v1/tokens",
        Some(json!({"name": "adm script"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let adm_token = created["secret"].as_str().unwrap().to_string();
    let id = user_id(&s, &m, "adm").await;
    let (status, body) = api(
        &s,
        &m.token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], true);
    let (status, _) = as_session(&adm, &csrf, &s, Method::GET, "/api/v1/orders", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session ended");
    let (status, _) = api(&s, &adm_token, Method::GET, "/api/v1/orders", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the token ended");
    let (status, _) = page(&adm, &s, "/orders").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "back to the login page");
    assert_eq!(
        login_status(&s, "adm", "member-password").await,
        StatusCode::UNAUTHORIZED
    );
    let (_, audit) = api(
        &s,
        &m.token,
        Method::GET,
        "/api/v1/audit?action=user.disable",
        None,
    )
    .await;
    assert_eq!(audit["items"][0]["entity_id"], id);

    // Enabled again, the user logs in; the old token stays revoked.
    let (status, _) = api(
        &s,
        &m.token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        login_status(&s, "adm", "member-password").await,
        StatusCode::OK
    );
    let (status, _) = api(&s, &adm_token, Method::GET, "/api/v1/orders", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Nobody disables themselves.
    let c = client();
    let csrf = login(&c, &s, "alice", "owner-password").await;
    let owner_id = user_id(&s, &m, "alice").await;
    let (status, _) = as_session(
        &c,
        &csrf,
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{owner_id}"),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn scopes_are_loaded_into_sessions_and_tokens(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let other = second_warehouse(&s, &m).await;
    let (c, csrf) = sub_account(&s, &m, "wh1", "warehouse").await;
    let id = user_id(&s, &m, "wh1").await;
    let seen = |c: Client, csrf: String| {
        let s = &s;
        async move {
            let (_, list) = as_session(&c, &csrf, s, Method::GET, "/api/v1/warehouses", None).await;
            let mut ids: Vec<i64> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["id"].as_i64().unwrap())
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![m.warehouse, other];
    both.sort();
    assert_eq!(seen(c.clone(), csrf.clone()).await, both, "no scope: all");
    // A new scope applies to the live session at its next request.
    let (status, body) = api(
        &s,
        &m.token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"scope": {"shops": [m.shop], "warehouses": [other]}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(seen(c.clone(), csrf.clone()).await, vec![other]);
    // An API token acts with its user's scope.
    let user = app
        .store()
        .user(
            fahuo_domain::TenantId(body["tenant_id"].as_i64().unwrap()),
            fahuo_domain::UserId(id),
        )
        .await
        .unwrap();
    let secret = "fh_scoped-token-for-wh1";
    let audit = fahuo_domain::audit::AuditEntry {
        tenant_id: user.tenant_id,
        actor: fahuo_domain::audit::ActorRef::system("test"),
        action: "api_token.create".into(),
        entity_type: "api_token".into(),
        entity_id: None,
        before: None,
        after: None,
        at: chrono::Utc::now(),
    };
    app.store()
        .create_api_token(
            &user,
            "wh1 script",
            &fahuo_store::pii::token_hash(secret),
            "fh_scoped",
            &audit,
        )
        .await
        .unwrap();
    let (_, list) = api(&s, secret, Method::GET, "/api/v1/warehouses", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], other);
    let (status, _) = api(
        &s,
        secret,
        Method::POST,
        "/api/v1/stock/movements",
        Some(
            json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "kind": "inbound", "quantity": 1}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Made an admin, the same user sees everything whatever scope is stored.
    let (status, _) = api(
        &s,
        &m.token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen(c, csrf).await, both);
}

async fn the_accounts_page_lists_staff_scopes_and_invites_to_managers_only(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let other = second_warehouse(&s, &m).await;
    let (status, _) = api(
        &s,
        &m.token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "wh-sz", "role": "warehouse", "password": "member-password", "scope": {"shops": null, "warehouses": [other]}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _) = api(
        &s,
        &m.token,
        Method::POST,
        "/api/v1/invites",
        Some(json!({"role": "service", "note": "客服小赵"})),
    )
    .await;
    let owner = client();
    login(&owner, &s, "alice", "owner-password").await;
    let (status, html) = page(&owner, &s, "/accounts").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for hook in [
        "id=\"users-list\"",
        "id=\"invite-form\"",
        "id=\"invite-link\"",
        "data-username=\"alice\"",
        "data-username=\"wh-sz\"",
        "/static/accounts.js",
    ] {
        assert!(html.contains(hook), "{hook}");
    }
    let row = html
        .split("data-username=\"wh-sz\"")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    let cell = |name: &str| {
        row.split(&format!("data-{name}>"))
            .nth(1)
            .unwrap()
            .split("</td>")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(cell("warehouses"), "深圳仓", "{row}");
    assert_eq!(cell("shops"), "全部");
    assert!(row.contains("从未登录") && row.contains("正常") && row.contains("仓库"));
    let alice = html.split("data-username=\"alice\"").nth(1).unwrap();
    let alice = alice.split("</tr>").next().unwrap();
    assert!(!alice.contains("从未登录"), "the owner has logged in");
    assert!(
        !alice.contains("data-action=\"disable\""),
        "the owner cannot be disabled"
    );
    assert!(html.contains("客服小赵"), "the pending invitation");
    assert!(
        html.contains("value=\"admin\""),
        "the owner may invite admins"
    );
    assert!(!html.contains("bob") && !html.contains("商家B"));
    // An admin is not offered the admin role.
    let (adm, _) = sub_account(&s, &m, "adm", "admin").await;
    let (status, html) = page(&adm, &s, "/accounts").await;
    assert_eq!(status, StatusCode::OK);
    let form = html.split("id=\"invite-form\"").nth(1).unwrap();
    let form = form.split("</form>").next().unwrap();
    assert!(!form.contains("value=\"admin\"") && form.contains("value=\"viewer\""));
    // Roles without ManageUsers get 403 and no data.
    for (name, role) in [
        ("fin", "finance"),
        ("wh1", "warehouse"),
        ("viewer1", "viewer"),
    ] {
        let (c, _) = sub_account(&s, &m, name, role).await;
        let (status, html) = page(&c, &s, "/accounts").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        assert!(
            !html.contains("users-list") && !html.contains("wh-sz") && !html.contains("客服小赵")
        );
    }
    // Another tenant's owner sees only its own staff.
    let bob = client();
    login(&bob, &s, "bob", "owner-password").await;
    let (status, html) = page(&bob, &s, "/accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-username=\"bob\""));
    assert!(!html.contains("alice") && !html.contains("wh-sz") && !html.contains("客服小赵"));
    let _ = b;
    // Without a session: the login page.
    let (status, _) = page(&client(), &s, "/accounts").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // English.
    page(&owner, &s, "/lang/en").await;
    let (_, html) = page(&owner, &s, "/accounts").await;
    assert!(html.contains("Staff accounts") && html.contains("Invite a sub-account"));
    assert!(html.contains("Never") && !html.contains("从未登录"));
}

async fn the_audit_page_filters_pages_and_masks(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "商家A", "alice").await;
    let _b = merchant(&s, &app, "商家B", "bob").await;
    // Revealing the receiver is audited; the trail still never shows it in clear.
    let (status, body) = api(
        &s,
        &m.token,
        Method::POST,
        &format!("/api/v1/orders/{}/reveal-receiver", m.order),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for n in 0..55 {
        let (status, _) = api(
            &s,
            &m.token,
            Method::POST,
            "/api/v1/invites",
            Some(json!({"role": "viewer", "note": format!("批量{n}")})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let owner = client();
    login(&owner, &s, "alice", "owner-password").await;
    let (status, html) = page(&owner, &s, "/audit").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"audit-list\""));
    assert!(
        !html.contains("13812345678") && !html.contains("文三路"),
        "no PII"
    );
    let ids = |html: &str| -> Vec<i64> {
        html.split("data-audit-id=\"")
            .skip(1)
            .map(|p| p.split('"').next().unwrap().parse().unwrap())
            .collect()
    };
    let first = ids(&html);
    assert_eq!(first.len(), 50, "a page of 50");
    assert!(first.windows(2).all(|w| w[0] > w[1]), "newest first");
    let next = html
        .split("rel=\"next\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(next.starts_with("/audit?before="), "{next}");
    let (_, html2) = page(&owner, &s, &next).await;
    let second = ids(&html2);
    assert!(!second.is_empty() && second[0] < *first.last().unwrap());
    // Filters: by action family, by user, by entity, by dates.
    let (_, html) = page(&owner, &s, "/audit?action=invite").await;
    assert!(html.contains("invite.create") && !html.contains("user.create"));
    let (_, html) = page(
        &owner,
        &s,
        &format!("/audit?entity_type=order&entity_id={}", m.order),
    )
    .await;
    assert!(
        html.contains("receiver.reveal") && !html.contains("invite.create"),
        "{html}"
    );
    let alice = user_id(&s, &m, "alice").await;
    let (_, html) = page(&owner, &s, &format!("/audit?user_id={alice}")).await;
    assert!(
        html.contains("auth.login") && !html.contains("(API"),
        "in person only"
    );
    let (_, html) = page(&owner, &s, "/audit?from=2001-01-01&to=2001-01-02").await;
    assert!(ids(&html).is_empty() && html.contains("没有符合条件的记录"));
    let (_, html) = page(&owner, &s, "/audit?from=yesterday").await;
    assert!(html.contains("日期格式应为"));
    // Finance may read the audit trail; a viewer may not.
    let (fin, _) = sub_account(&s, &m, "fin", "finance").await;
    let (status, html) = page(&fin, &s, "/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("invite.create"));
    let (viewer, _) = sub_account(&s, &m, "viewer1", "viewer").await;
    let (status, html) = page(&viewer, &s, "/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains("audit-list") && !html.contains("invite.create"));
    // Another tenant's trail shows nothing of A.
    let bob = client();
    login(&bob, &s, "bob", "owner-password").await;
    let (_, html) = page(&bob, &s, "/audit").await;
    assert!(!html.contains("alice") && !html.contains("批量"));
    // English.
    page(&owner, &s, "/lang/en").await;
    let (_, html) = page(&owner, &s, "/audit").await;
    assert!(
        html.contains("Audit log") && html.contains("Entity type") && !html.contains("对象类型")
    );
}

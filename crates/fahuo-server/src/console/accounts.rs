//! 子账号 and 操作日志: inviting sub-accounts, their roles and scopes, and the audit trail.
//!
//! `/accounts` (ManageUsers) lists the staff and pending invitations; its forms call the users
//! and invites API. `/audit` (ViewAudit) reads the audit trail, newest first, keyset-paginated.
//! `/invite/{token}` is public: the invitee chooses a username and password there (a plain
//! form, like the login page).

use super::{Chrome, CommonText, Lang, PageId, PageResult, enter, render, shanghai};
use crate::AppState;
use crate::extract::{MaybeSession, client_addr};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use fahuo_app::auth::Password;
use fahuo_app::users::InviteLink;
use fahuo_app::{Actor, AppError};
use fahuo_domain::audit::AuditEntry;
use fahuo_domain::{Role, Scope, Username};
use fahuo_store::audit::AuditFilter;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(accounts_page))
        .route("/audit", get(audit_page))
        .route("/invite/{token}", get(invite_page).post(invite_submit))
}

// ------------------------------------------------------------------ text

struct AccountsText {
    users: &'static str,
    username: &'static str,
    display_name: &'static str,
    role: &'static str,
    shops: &'static str,
    warehouses: &'static str,
    status: &'static str,
    last_login: &'static str,
    actions: &'static str,
    active: &'static str,
    disabled: &'static str,
    never: &'static str,
    all: &'static str,
    none_selected: &'static str,
    edit: &'static str,
    disable: &'static str,
    enable: &'static str,
    disable_confirm: &'static str,
    you: &'static str,
    invite_title: &'static str,
    invite_hint: &'static str,
    note: &'static str,
    note_placeholder: &'static str,
    create_invite: &'static str,
    invite_link: &'static str,
    invite_link_hint: &'static str,
    pending: &'static str,
    no_pending: &'static str,
    created_by: &'static str,
    expires: &'static str,
    revoke: &'static str,
    revoke_confirm: &'static str,
    load_failed: &'static str,
}

static ZH: AccountsText = AccountsText {
    users: "子账号",
    username: "用户名",
    display_name: "显示名",
    role: "角色",
    shops: "店铺",
    warehouses: "仓库",
    status: "状态",
    last_login: "最近登录",
    actions: "操作",
    active: "正常",
    disabled: "已停用",
    never: "从未登录",
    all: "全部",
    none_selected: "无",
    edit: "修改",
    disable: "停用",
    enable: "启用",
    disable_confirm: "停用后该账号立即退出登录，API 令牌作废。确定停用？",
    you: "（你）",
    invite_title: "邀请子账号",
    invite_hint: "生成一次性邀请链接（7 天内有效），对方打开后自行设置用户名和密码。",
    note: "备注",
    note_placeholder: "例如：仓库小王",
    create_invite: "生成邀请链接",
    invite_link: "邀请链接",
    invite_link_hint: "链接只显示这一次，请立即复制发给对方。",
    pending: "待接受的邀请",
    no_pending: "没有待接受的邀请",
    created_by: "邀请人",
    expires: "到期",
    revoke: "撤销",
    revoke_confirm: "撤销后链接立即失效。确定撤销？",
    load_failed: "子账号加载失败，请稍后重试",
};

static EN: AccountsText = AccountsText {
    users: "Staff accounts",
    username: "Username",
    display_name: "Display name",
    role: "Role",
    shops: "Shops",
    warehouses: "Warehouses",
    status: "Status",
    last_login: "Last login",
    actions: "Actions",
    active: "Active",
    disabled: "Disabled",
    never: "Never",
    all: "All",
    none_selected: "None",
    edit: "Edit",
    disable: "Disable",
    enable: "Enable",
    disable_confirm: "Disabling logs the account out at once and revokes its API tokens. Disable?",
    you: " (you)",
    invite_title: "Invite a sub-account",
    invite_hint: "Creates a one-time link, valid for 7 days; the invitee chooses a username and password.",
    note: "Note",
    note_placeholder: "e.g. Wang, warehouse",
    create_invite: "Create invitation link",
    invite_link: "Invitation link",
    invite_link_hint: "The link is shown only this once: copy it and send it now.",
    pending: "Pending invitations",
    no_pending: "No pending invitations",
    created_by: "Invited by",
    expires: "Expires",
    revoke: "Revoke",
    revoke_confirm: "The link stops working at once. Revoke?",
    load_failed: "Could not load the accounts; please try again",
};

// ------------------------------------------------------------------ /accounts

struct Check {
    id: i64,
    name: String,
    checked: bool,
}

struct RoleOption {
    code: &'static str,
    label: &'static str,
    selected: bool,
}

/// A scope's shop or warehouse checkboxes, with "all" (None) on top.
struct ScopeChecks {
    all: bool,
    items: Vec<Check>,
}

struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role: &'static str,
    shops: String,
    warehouses: String,
    disabled: bool,
    last_login: String,
    is_self: bool,
    /// The actor may change this account (role, scope, name).
    editable: bool,
    /// The actor may disable or enable it.
    switchable: bool,
    roles: Vec<RoleOption>,
    shop_checks: ScopeChecks,
    warehouse_checks: ScopeChecks,
}

struct InviteRow {
    id: i64,
    role: &'static str,
    shops: String,
    warehouses: String,
    note: String,
    created_by: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    t: &'static AccountsText,
    error: Option<&'static str>,
    users: Vec<UserRow>,
    invites: Vec<InviteRow>,
    invite_roles: Vec<RoleOption>,
    invite_shops: ScopeChecks,
    invite_warehouses: ScopeChecks,
}

/// The names of a scope's ids, or "all" for `None`.
fn scope_text(
    ids: Option<&[i64]>,
    names: &[(i64, String)],
    t: &AccountsText,
    c: &CommonText,
) -> String {
    match ids {
        None => t.all.to_string(),
        Some([]) => t.none_selected.to_string(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                names
                    .iter()
                    .find(|(n, _)| n == id)
                    .map(|(_, name)| name.clone())
                    .unwrap_or_else(|| format!("#{id} {}", c.none))
            })
            .collect::<Vec<_>>()
            .join("、"),
    }
}

fn checks(ids: Option<&[i64]>, names: &[(i64, String)]) -> ScopeChecks {
    ScopeChecks {
        all: ids.is_none(),
        items: names
            .iter()
            .map(|(id, name)| Check {
                id: *id,
                name: name.clone(),
                checked: ids.is_some_and(|ids| ids.contains(id)),
            })
            .collect(),
    }
}

fn role_options(roles: &[Role], current: Option<Role>, c: &CommonText) -> Vec<RoleOption> {
    roles
        .iter()
        .map(|r| RoleOption {
            code: r.as_str(),
            label: c.role(*r),
            selected: Some(*r) == current,
        })
        .collect()
}

fn shop_ids(scope: &Scope) -> Option<Vec<i64>> {
    scope
        .shops
        .as_ref()
        .map(|v| v.iter().map(|i| i.get()).collect())
}

fn warehouse_ids(scope: &Scope) -> Option<Vec<i64>> {
    scope
        .warehouses
        .as_ref()
        .map(|v| v.iter().map(|i| i.get()).collect())
}

/// 子账号: the staff with role, scope, status and last login; the invite form; pending
/// invitations.
async fn accounts_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Accounts, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let c = chrome.c;
    let loaded = async {
        let users = s.app.user_accounts(&actor).await?;
        let invites = s.app.pending_invites(&actor).await?;
        let shops = s.app.shops(&actor).await?;
        let warehouses = s.app.warehouses(&actor).await?;
        Ok::<_, AppError>((users, invites, shops, warehouses))
    }
    .await;
    let grantable = fahuo_app::App::grantable_roles(&actor);
    let mut page = AccountsPage {
        chrome,
        t,
        error: None,
        users: Vec::new(),
        invites: Vec::new(),
        invite_roles: role_options(&grantable, Some(Role::Viewer), c),
        invite_shops: checks(None, &[]),
        invite_warehouses: checks(None, &[]),
    };
    let (users, invites, shops, warehouses) = match loaded {
        Ok(all) => all,
        Err(e) => {
            tracing::error!(error = %e, "accounts page failed");
            page.error = Some(t.load_failed);
            return Ok(render(page));
        }
    };
    let shop_names: Vec<(i64, String)> = shops
        .iter()
        .map(|s| (s.id.get(), s.name.to_string()))
        .collect();
    let warehouse_names: Vec<(i64, String)> = warehouses
        .iter()
        .map(|w| (w.id.get(), w.name.to_string()))
        .collect();
    page.invite_shops = checks(None, &shop_names);
    page.invite_warehouses = checks(None, &warehouse_names);
    page.users = users
        .into_iter()
        .map(|a| {
            let u = &a.user;
            let is_self = actor.user_id == Some(u.id);
            let editable = may_change(&actor, u.role);
            let shops = shop_ids(&a.scope);
            let whs = warehouse_ids(&a.scope);
            // A user may not raise their own role: offer only roles at or below it.
            let roles: Vec<Role> = grantable
                .iter()
                .copied()
                .filter(|r| !is_self || *r != Role::Admin || u.role == Role::Admin)
                .collect();
            UserRow {
                id: u.id.get(),
                username: u.username.to_string(),
                display_name: u.display_name.clone(),
                role: c.role(u.role),
                shops: scope_text(shops.as_deref(), &shop_names, t, c),
                warehouses: scope_text(whs.as_deref(), &warehouse_names, t, c),
                disabled: u.disabled,
                last_login: a
                    .last_login_at
                    .map(shanghai)
                    .unwrap_or_else(|| t.never.to_string()),
                is_self,
                editable,
                switchable: editable && !is_self,
                roles: role_options(&roles, Some(u.role), c),
                shop_checks: checks(shops.as_deref(), &shop_names),
                warehouse_checks: checks(whs.as_deref(), &warehouse_names),
            }
        })
        .collect();
    page.invites = invites
        .into_iter()
        .map(|i| {
            let shops = shop_ids(&i.scope);
            let whs = warehouse_ids(&i.scope);
            InviteRow {
                id: i.id,
                role: c.role(i.role),
                shops: scope_text(shops.as_deref(), &shop_names, t, c),
                warehouses: scope_text(whs.as_deref(), &warehouse_names, t, c),
                note: i.note,
                created_by: i.created_by,
                expires: shanghai(i.expires_at),
            }
        })
        .collect();
    Ok(render(page))
}

/// Whether the page offers changing an account of `role` (the API decides in the end): never
/// the owner's; an admin's only for the owner.
fn may_change(actor: &Actor, role: Role) -> bool {
    match role {
        Role::Owner => false,
        Role::Admin => actor.role == Role::Owner,
        _ => true,
    }
}

// ------------------------------------------------------------------ /audit

struct AuditText {
    user: &'static str,
    any_user: &'static str,
    action: &'static str,
    action_placeholder: &'static str,
    entity_type: &'static str,
    entity_id: &'static str,
    from: &'static str,
    to: &'static str,
    time: &'static str,
    who: &'static str,
    entity: &'static str,
    changes: &'static str,
    empty: &'static str,
    via_token: &'static str,
    via_system: &'static str,
    bad_date: &'static str,
    load_failed: &'static str,
}

static AUDIT_ZH: AuditText = AuditText {
    user: "操作人",
    any_user: "全部",
    action: "操作",
    action_placeholder: "如 order 或 order.approve",
    entity_type: "对象类型",
    entity_id: "对象 ID",
    from: "从",
    to: "至",
    time: "时间",
    who: "操作人",
    entity: "对象",
    changes: "变更",
    empty: "没有符合条件的记录",
    via_token: "API 令牌",
    via_system: "系统",
    bad_date: "日期格式应为 2026-12-01",
    load_failed: "操作日志加载失败，请稍后重试",
};

static AUDIT_EN: AuditText = AuditText {
    user: "User",
    any_user: "Anyone",
    action: "Action",
    action_placeholder: "e.g. order or order.approve",
    entity_type: "Entity type",
    entity_id: "Entity id",
    from: "From",
    to: "To",
    time: "Time",
    who: "Who",
    entity: "Entity",
    changes: "Changes",
    empty: "No matching entries",
    via_token: "API token",
    via_system: "system",
    bad_date: "Dates look like 2026-12-01",
    load_failed: "Could not load the audit log; please try again",
};

#[derive(Deserialize, Default)]
struct AuditForm {
    user_id: Option<String>,
    action: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
}

struct UserOption {
    id: i64,
    name: String,
    selected: bool,
}

struct AuditRow {
    id: i64,
    time: String,
    who: String,
    via: Option<&'static str>,
    action: String,
    action_label: String,
    entity: String,
    changes: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    t: &'static AuditText,
    error: Option<&'static str>,
    users: Vec<UserOption>,
    action: String,
    entity_type: String,
    entity_id: String,
    from: String,
    to: String,
    rows: Vec<AuditRow>,
    next: Option<String>,
}

/// A day in China time as the UTC instant it starts.
fn day_start(date: &str) -> Option<DateTime<Utc>> {
    let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    let cst = chrono::FixedOffset::east_opt(8 * 3600)?;
    cst.from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// 操作日志: the audit trail, newest first, with filters and keyset pages.
async fn audit_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(q): Query<AuditForm>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Audit, &uri)?;
    let t = lang.pick(&AUDIT_ZH, &AUDIT_EN);
    let user_id = non_empty(&q.user_id).and_then(|v| v.parse::<i64>().ok());
    let entity_id = non_empty(&q.entity_id).and_then(|v| v.parse::<i64>().ok());
    let from = non_empty(&q.from).map(day_start);
    let until = non_empty(&q.to).map(|d| day_start(d).map(|t| t + Duration::days(1)));
    let mut page = AuditPage {
        chrome,
        t,
        error: None,
        users: Vec::new(),
        action: q.action.clone().unwrap_or_default(),
        entity_type: q.entity_type.clone().unwrap_or_default(),
        entity_id: q.entity_id.clone().unwrap_or_default(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        rows: Vec::new(),
        next: None,
    };
    match s.app.staff_names(&actor).await {
        Ok(names) => {
            page.users = names
                .into_iter()
                .map(|(id, name)| UserOption {
                    id: id.get(),
                    selected: Some(id.get()) == user_id,
                    name,
                })
                .collect()
        }
        Err(e) => tracing::error!(error = %e, "audit page: staff names failed"),
    }
    if matches!(from, Some(None)) || matches!(until, Some(None)) {
        page.error = Some(t.bad_date);
        return Ok(render(page));
    }
    let filter = AuditFilter {
        entity_type: non_empty(&q.entity_type).map(str::to_string),
        entity_id,
        before_id: q.before,
        limit: 50,
        user_id,
        action: non_empty(&q.action).map(str::to_string),
        from: from.flatten(),
        until: until.flatten(),
    };
    match s.app.audit_log(&actor, &filter).await {
        Ok(found) => {
            page.rows = found
                .items
                .into_iter()
                .map(|r| audit_row(r.id, &r.entry, t, lang))
                .collect();
            page.next = found.next_cursor.map(|c| next_audit_page(&q, c));
        }
        Err(e) => {
            tracing::error!(error = %e, "audit page failed");
            page.error = Some(t.load_failed);
        }
    }
    Ok(render(page))
}

/// The next page's address: the same filters, before the last entry shown.
fn next_audit_page(q: &AuditForm, cursor: i64) -> String {
    let mut url = format!("/audit?before={cursor}");
    for (key, value) in [
        ("user_id", &q.user_id),
        ("action", &q.action),
        ("entity_type", &q.entity_type),
        ("entity_id", &q.entity_id),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = non_empty(value) {
            url.push_str(&format!("&{key}={}", encode(v)));
        }
    }
    url
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn audit_row(id: i64, e: &AuditEntry, t: &AuditText, lang: Lang) -> AuditRow {
    use fahuo_domain::audit::ActorRef;
    let via = match e.actor {
        ActorRef::User { .. } => None,
        ActorRef::Token { .. } => Some(t.via_token),
        ActorRef::System { .. } => Some(t.via_system),
    };
    AuditRow {
        id,
        time: shanghai(e.at),
        who: e.actor.name().to_string(),
        via,
        action: e.action.clone(),
        action_label: super::labels::audit_action(&e.action, lang),
        entity: match e.entity_id {
            Some(id) => format!(
                "{} #{id}",
                super::labels::audit_entity_type(&e.entity_type, lang)
            ),
            None => super::labels::audit_entity_type(&e.entity_type, lang),
        },
        changes: super::audit_text::changes(e.before.as_ref(), e.after.as_ref(), lang),
    }
}

// ------------------------------------------------------------------ /invite/{token}

struct InviteText {
    title: &'static str,
    intro: &'static str,
    role: &'static str,
    username: &'static str,
    username_hint: &'static str,
    display_name: &'static str,
    password: &'static str,
    password_hint: &'static str,
    password_again: &'static str,
    submit: &'static str,
    created: &'static str,
    go_login: &'static str,
    expired: &'static str,
    used: &'static str,
    revoked: &'static str,
    unknown: &'static str,
    mismatch: &'static str,
    bad_username: &'static str,
    bad_password: &'static str,
    taken: &'static str,
    failed: &'static str,
    cross_site: &'static str,
    other_language: &'static str,
    other_language_code: &'static str,
}

static INVITE_ZH: InviteText = InviteText {
    title: "接受邀请",
    intro: "你被邀请加入发货 fahuo。设置用户名和密码后即可登录。",
    role: "角色",
    username: "用户名",
    username_hint: "字母、数字、点、横线或下划线",
    display_name: "显示名",
    password: "密码",
    password_hint: "至少 8 个字符",
    password_again: "再次输入密码",
    submit: "创建账号",
    created: "账号已创建，现在可以登录了。",
    go_login: "去登录",
    expired: "这个邀请链接已过期。请联系主账号重新邀请。",
    used: "这个邀请链接已经被使用过。请直接登录，或联系主账号重新邀请。",
    revoked: "这个邀请链接已被撤销。请联系主账号。",
    unknown: "邀请链接无效。请检查链接是否完整。",
    mismatch: "两次输入的密码不一致",
    bad_username: "用户名格式不正确",
    bad_password: "密码至少 8 个字符，最多 256 个",
    taken: "这个用户名已被占用，请换一个",
    failed: "服务器内部错误，请稍后重试",
    cross_site: "跨站请求已拒绝",
    other_language: "English",
    other_language_code: "en",
};

static INVITE_EN: InviteText = InviteText {
    title: "Accept invitation",
    intro: "You are invited to fahuo. Choose a username and password to log in.",
    role: "Role",
    username: "Username",
    username_hint: "letters, digits, dots, dashes or underscores",
    display_name: "Display name",
    password: "Password",
    password_hint: "at least 8 characters",
    password_again: "Password again",
    submit: "Create account",
    created: "Your account is ready: you can log in now.",
    go_login: "Log in",
    expired: "This invitation link has expired. Ask the account owner for a new one.",
    used: "This invitation link has already been used. Log in, or ask for a new one.",
    revoked: "This invitation link was revoked. Ask the account owner.",
    unknown: "This invitation link is not valid. Check that it is complete.",
    mismatch: "The two passwords differ",
    bad_username: "This username is not valid",
    bad_password: "A password has 8 to 256 characters",
    taken: "This username is taken; choose another",
    failed: "Something went wrong on the server; please try again",
    cross_site: "Cross-site request refused",
    other_language: "中文",
    other_language_code: "zh",
};

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    lang: Lang,
    t: &'static InviteText,
    /// The invitation can be accepted: show the form.
    open: bool,
    /// The account was just created.
    done: bool,
    role: &'static str,
    message: Option<&'static str>,
    error: Option<&'static str>,
    username: String,
    display_name: String,
}

impl InvitePage {
    fn new(lang: Lang) -> InvitePage {
        InvitePage {
            lang,
            t: lang.pick(&INVITE_ZH, &INVITE_EN),
            open: false,
            done: false,
            role: "",
            message: None,
            error: None,
            username: String::new(),
            display_name: String::new(),
        }
    }
}

/// What a closed link says, and with which status.
fn closed(link: &InviteLink, t: &'static InviteText) -> (StatusCode, &'static str) {
    match link {
        InviteLink::Expired => (StatusCode::GONE, t.expired),
        InviteLink::Used => (StatusCode::GONE, t.used),
        InviteLink::Revoked => (StatusCode::GONE, t.revoked),
        _ => (StatusCode::NOT_FOUND, t.unknown),
    }
}

/// The invitee's page: the form while the link is open, else what happened to it.
async fn invite_page(State(s): State<AppState>, lang: Lang, Path(token): Path<String>) -> Response {
    let mut page = InvitePage::new(lang);
    match s.app.open_invite(&token).await {
        Ok(InviteLink::Open(invite)) => {
            page.open = true;
            page.role = CommonText::of(lang).role(invite.role);
            no_store(StatusCode::OK, page)
        }
        Ok(other) => {
            let (status, message) = closed(&other, page.t);
            page.message = Some(message);
            no_store(status, page)
        }
        Err(e) => {
            tracing::error!(error = %e, "invite page failed");
            page.message = Some(page.t.failed);
            no_store(StatusCode::INTERNAL_SERVER_ERROR, page)
        }
    }
}

/// The link is a secret: keep it out of caches and referrers.
fn no_store(status: StatusCode, page: InvitePage) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        render(page),
    )
        .into_response()
}

#[derive(Deserialize)]
struct InviteForm {
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    password_again: String,
}

async fn invite_submit(
    State(s): State<AppState>,
    lang: Lang,
    parts: Parts,
    Path(token): Path<String>,
    Form(form): Form<InviteForm>,
) -> Response {
    let mut page = InvitePage::new(lang);
    let t = page.t;
    if !super::login::same_origin(&parts.headers) {
        return (StatusCode::FORBIDDEN, t.cross_site).into_response();
    }
    let link = match s.app.open_invite(&token).await {
        Ok(link) => link,
        Err(e) => {
            tracing::error!(error = %e, "invite failed");
            page.message = Some(t.failed);
            return no_store(StatusCode::INTERNAL_SERVER_ERROR, page);
        }
    };
    let InviteLink::Open(invite) = link else {
        let (status, message) = closed(&link, t);
        page.message = Some(message);
        return no_store(status, page);
    };
    page.open = true;
    page.role = CommonText::of(lang).role(invite.role);
    page.username = form.username.clone();
    page.display_name = form.display_name.clone();
    let username = match Username::parse(&form.username) {
        Ok(u) => u,
        Err(_) => {
            page.error = Some(t.bad_username);
            return no_store(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    let password = match Password::parse(&form.password) {
        Ok(p) => p,
        Err(_) => {
            page.error = Some(t.bad_password);
            return no_store(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    if form.password != form.password_again {
        page.error = Some(t.mismatch);
        return no_store(StatusCode::UNPROCESSABLE_ENTITY, page);
    }
    match s
        .app
        .accept_invite(&token, username, &form.display_name, &password)
        .await
    {
        Ok(_) => {
            // The new colleague is logged in and lands in the console; should that fail (the
            // login rate limit), the page says the account exists and links to the login.
            if let Ok(session) = s
                .app
                .login(&form.username, &form.password, &client_addr(&parts))
                .await
            {
                return super::login::start_session(&s, &session, "/");
            }
            page.open = false;
            page.done = true;
            page.message = Some(t.created);
            no_store(StatusCode::CREATED, page)
        }
        Err(AppError::Conflict(m)) if m.contains("taken") => {
            page.error = Some(t.taken);
            no_store(StatusCode::CONFLICT, page)
        }
        Err(AppError::Conflict(_)) => {
            // Used up (or revoked) between opening the form and sending it.
            let link = s.app.open_invite(&token).await.unwrap_or(InviteLink::Used);
            page.open = false;
            page.message = Some(closed(&link, t).1);
            no_store(StatusCode::GONE, page)
        }
        Err(e) => {
            tracing::error!(error = %e, "invite failed");
            page.error = Some(t.failed);
            no_store(StatusCode::INTERNAL_SERVER_ERROR, page)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_at_midnight_china_time() {
        let t = day_start("2026-12-01").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert!(day_start("12/01/2026").is_none());
    }
}

//! The storage contract: every behaviour here runs on SQLite and on PostgreSQL.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::catalog::{ShopCredentials, SizeMm, User};
use fahuo_domain::fulfilment::{NewCarrierAccount, WaybillService};
use fahuo_domain::order::{NewOrder, NewOrderLine, Receiver};
use fahuo_domain::stock::{MovementKind, StockMovement};
use fahuo_domain::*;
use fahuo_store::accounts::NewUser;
use fahuo_store::allocation::PackagePlan;
use fahuo_store::audit::AuditFilter;
use fahuo_store::catalog::{NewShop, NewSku, NewWarehouse};
use fahuo_store::jobs::{Finished, JobState, KindShare, NewJob, Outcome};
use fahuo_store::orders::{KnownOrder, OrderFilter, Upsert};
use fahuo_store::testing::TestDb;
use fahuo_store::waybills::{IssuedNumber, Recorded};
use fahuo_store::{Store, StoreError, both_backends, on_db};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap()
}

fn audit(tenant: TenantId, action: &str, entity: &str) -> AuditEntry {
    AuditEntry {
        tenant_id: tenant,
        actor: ActorRef::system("test"),
        action: action.into(),
        entity_type: entity.into(),
        entity_id: None,
        before: None,
        after: None,
        at: t0(),
    }
}

/// A user of `tenant` with the given username and role, for tests about what a user holds
/// (sessions, tokens) rather than about creating users.
async fn user(store: &Store, tenant: TenantId, name: &str, role: Role) -> User {
    store
        .create_user(
            &NewUser {
                tenant_id: tenant,
                username: Username::parse(name).unwrap(),
                display_name: name.into(),
                role,
                password_hash: "h".into(),
            },
            &audit(tenant, "user.create", "user"),
        )
        .await
        .unwrap()
}

struct Fixture {
    tenant: TenantId,
    shop: ShopId,
    warehouse: WarehouseId,
    sku: SkuId,
}

async fn fixture(store: &Store, name: &str) -> Fixture {
    let tenant = store
        .create_tenant(&Name::parse(name).unwrap(), t0())
        .await
        .unwrap()
        .id;
    let shop = store
        .create_shop(
            tenant,
            &NewShop {
                platform: Platform::Douyin,
                name: Name::parse("抖店旗舰店").unwrap(),
                platform_shop_id: format!("{name}-shop"),
                api_base_url: None,
                credentials: Some(ShopCredentials {
                    app_key: "key".into(),
                    app_secret: "very-secret-app-secret".into(),
                    ..Default::default()
                }),
            },
            &audit(tenant, "shop.create", "shop"),
        )
        .await
        .unwrap()
        .id;
    let warehouse = store
        .create_warehouse(
            tenant,
            &NewWarehouse {
                code: WarehouseCode::parse("HZ01").unwrap(),
                name: Name::parse("杭州仓").unwrap(),
                province: "浙江省".into(),
                city: "杭州市".into(),
                county: "余杭区".into(),
                address: "仓前街道1号".into(),
                location: Some(fahuo_domain::catalog::GeoPoint {
                    lat: 30.29,
                    lng: 119.99,
                }),
            },
            &audit(tenant, "warehouse.create", "warehouse"),
        )
        .await
        .unwrap()
        .id;
    let sku = store
        .create_sku(
            tenant,
            &NewSku {
                code: SkuCode::parse("TEE-01").unwrap(),
                name: Name::parse("纯棉T恤").unwrap(),
                barcode: Some(Barcode::parse("6901234567892").unwrap()),
                weight: Grams::new(250).unwrap(),
                size: SizeMm {
                    length: 300,
                    width: 200,
                    height: 30,
                },
                cost: Fen(2500),
            },
            &audit(tenant, "sku.create", "sku"),
        )
        .await
        .unwrap()
        .id;
    Fixture {
        tenant,
        shop,
        warehouse,
        sku,
    }
}

fn new_order(
    f: &Fixture,
    platform_order_id: &str,
    phone: &str,
    updated: DateTime<Utc>,
) -> NewOrder {
    NewOrder {
        shop_id: f.shop,
        platform_order_id: PlatformOrderId::parse(platform_order_id).unwrap(),
        platform_status: "2".into(),
        paid_total: Fen(9900),
        freight: Fen(0),
        buyer_note: Some("请尽快发货".into()),
        seller_note: None,
        paid_at: Some(t0()),
        ship_by: Some(t0() + Duration::hours(48)),
        presale_ship_at: None,
        platform_updated_at: Some(updated),
        receiver: Receiver::parse("张三", phone, "浙江省", "杭州市", "西湖区", "文三路90号")
            .unwrap(),
        lines: vec![NewOrderLine {
            platform_line_id: Some("L1".into()),
            platform_sku_id: Some("PSKU1".into()),
            sku_code: Some(SkuCode::parse("TEE-01").unwrap()),
            title: "纯棉T恤 白色 L".into(),
            quantity: 2,
            unit_price: Fen(4950),
            paid: Fen(9900),
        }],
        receiver_fingerprint: None,
    }
}

fn system() -> ActorRef {
    ActorRef::system("sync")
}

both_backends!(
    users_are_unique_and_scoped_to_their_tenant,
    sessions_expire_and_tokens_can_be_revoked,
    a_token_brings_its_users_scope_and_ends_with_the_user,
    login_failures_are_counted_per_window,
    shop_credentials_are_encrypted_at_rest,
    catalog_rows_never_cross_tenants,
    the_same_platform_order_is_stored_once,
    existing_order_numbers_are_found_per_shop_and_tenant,
    intake_reads_what_it_needs_of_a_held_order,
    receiver_fingerprints_round_trip_per_shop_and_only_for_the_stored_version,
    concurrent_intake_of_one_order_yields_one_row,
    receivers_are_encrypted_and_searchable_by_phone_tail,
    orders_stored_without_a_name_hash_get_one_at_migration,
    orders_move_only_along_the_state_machine_with_audit,
    holds_put_orders_aside_until_released,
    concurrent_reservations_never_oversell,
    ledger_always_sums_to_stock,
    jobs_are_deduplicated_claimed_and_completed,
    kinds_take_turns_when_jobs_are_claimed,
    claims_share_one_statement_whatever_the_runner_runs,
    lists_of_any_length_share_a_few_statements,
    failed_jobs_retry_then_land_in_the_dead_letter,
    an_expired_lease_passes_the_job_to_another_worker,
    a_round_records_the_ended_attempts_and_claims_in_one_call,
    concurrent_workers_run_each_job_exactly_once,
    the_audit_log_pages_newest_first,
    outbox_jobs_commit_or_roll_back_with_their_transaction,
    sync_progress_only_moves_forward_and_stays_in_its_tenant,
    one_sync_per_shop_holds_the_lease_until_it_releases_or_lapses,
    webhook_keys_find_their_shop_and_credentials_can_be_replaced,
    carrier_accounts_keep_secrets_count_usage_and_stay_in_their_tenant,
    concurrent_requests_for_one_package_share_one_key_and_one_live_number,
    the_write_back_sweep_finds_printed_packages_with_a_number_and_no_shipment,
    the_tracking_sweep_opens_each_accepted_number_once_and_follows_a_change,
    print_jobs_count_reprints_and_a_repeated_key_prints_nothing_twice,
);

async fn users_are_unique_and_scoped_to_their_tenant(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let b = fixture(store, "商家B").await;
    let new_user = |tenant, name: &str| NewUser {
        tenant_id: tenant,
        username: Username::parse(name).unwrap(),
        display_name: "小王".into(),
        role: Role::Service,
        password_hash: "$argon2id$fake".into(),
    };
    let user = store
        .create_user(
            &new_user(a.tenant, "wang"),
            &audit(a.tenant, "user.create", "user"),
        )
        .await
        .unwrap();
    let dup = store
        .create_user(
            &new_user(b.tenant, "WANG"),
            &audit(b.tenant, "user.create", "user"),
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(m)) if m.contains("wang")),
        "usernames are unique across tenants"
    );

    let (found, hash) = store
        .user_for_login(&Username::parse("wang").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, user);
    assert_eq!(hash, "$argon2id$fake");
    assert!(
        store
            .user_for_login(&Username::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(store.user(a.tenant, user.id).await.unwrap(), user);
    assert!(matches!(
        store.user(b.tenant, user.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.users(b.tenant).await.unwrap().is_empty());

    let log = store
        .audit_log(
            a.tenant,
            &AuditFilter {
                entity_type: Some("user".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        log.items[0].entry.entity_id,
        Some(user.id.get()),
        "creating a user is audited with its id"
    );
}

async fn sessions_expire_and_tokens_can_be_revoked(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let user = user(store, a.tenant, "boss", Role::Owner).await;
    store
        .create_session("sess-hash", &user, "csrf", t0(), t0() + Duration::hours(12))
        .await
        .unwrap();
    let live = store
        .session("sess-hash", t0() + Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.user.id, user.id);
    assert_eq!(live.csrf_token, "csrf");
    assert!(
        store
            .session("sess-hash", t0() + Duration::hours(13))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(store.session("other", t0()).await.unwrap().is_none());
    store.delete_session("sess-hash").await.unwrap();
    assert!(
        store.session("sess-hash", t0()).await.unwrap().is_none(),
        "logged out"
    );

    let token = store
        .create_api_token(
            &user,
            "ERP",
            "tok-hash",
            "fh_abcd",
            &audit(a.tenant, "token.create", "api_token"),
        )
        .await
        .unwrap();
    let found = store.api_token("tok-hash", t0()).await.unwrap().unwrap();
    assert_eq!((found.token.id, found.user.id), (token.id, user.id));
    assert_eq!(store.api_tokens(a.tenant).await.unwrap().len(), 1);
    let b = fixture(store, "商家B").await;
    assert!(
        matches!(
            store
                .revoke_api_token(
                    b.tenant,
                    token.id,
                    &audit(b.tenant, "token.revoke", "api_token")
                )
                .await,
            Err(StoreError::NotFound)
        ),
        "another tenant cannot revoke it"
    );
    store
        .revoke_api_token(
            a.tenant,
            token.id,
            &audit(a.tenant, "token.revoke", "api_token"),
        )
        .await
        .unwrap();
    assert!(
        store.api_token("tok-hash", t0()).await.unwrap().is_none(),
        "revoked tokens stop working"
    );
}

/// The token lookup (one query per API request) carries the user's scope, and finds nothing
/// once the user is disabled.
async fn a_token_brings_its_users_scope_and_ends_with_the_user(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let user = user(store, a.tenant, "packer", Role::Warehouse).await;
    store
        .create_api_token(
            &user,
            "scanner",
            "scan-hash",
            "fh_scan",
            &audit(a.tenant, "token.create", "api_token"),
        )
        .await
        .unwrap();
    let update = |scope: Scope, disabled: bool| fahuo_store::accounts::UserUpdate {
        display_name: "打包员".into(),
        role: Role::Warehouse,
        scope,
        disabled,
    };
    let scope = Scope {
        shops: Some(vec![a.shop]),
        warehouses: Some(vec![a.warehouse]),
    };
    store
        .update_user(
            a.tenant,
            user.id,
            &update(scope.clone(), false),
            &audit(a.tenant, "user.update", "user"),
        )
        .await
        .unwrap();
    let found = store.api_token("scan-hash", t0()).await.unwrap().unwrap();
    assert_eq!(found.user.id, user.id);
    assert_eq!(found.scope, scope, "the token acts within the user's scope");
    store
        .update_user(
            a.tenant,
            user.id,
            &update(scope, true),
            &audit(a.tenant, "user.disable", "user"),
        )
        .await
        .unwrap();
    assert!(
        store.api_token("scan-hash", t0()).await.unwrap().is_none(),
        "a disabled user's token stops working"
    );
}

async fn login_failures_are_counted_per_window(db: TestDb) {
    let store = &db.store;
    let window = Duration::minutes(15);
    for expected in 1..=3 {
        assert_eq!(
            store
                .record_login_failure("user:wang", t0(), window)
                .await
                .unwrap(),
            expected
        );
    }
    assert_eq!(
        store
            .login_failures("user:wang", t0() + Duration::minutes(5), window)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .login_failures("user:wang", t0() + Duration::minutes(16), window)
            .await
            .unwrap(),
        0,
        "the window closed"
    );
    assert_eq!(
        store
            .record_login_failure("user:wang", t0() + Duration::minutes(16), window)
            .await
            .unwrap(),
        1,
        "a new window starts"
    );
    store.clear_login_failures("user:wang").await.unwrap();
    assert_eq!(
        store
            .login_failures("user:wang", t0() + Duration::minutes(16), window)
            .await
            .unwrap(),
        0
    );
}

async fn shop_credentials_are_encrypted_at_rest(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let creds = store
        .shop_credentials(a.tenant, a.shop)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.app_secret, "very-secret-app-secret");
    let raw: Vec<u8> = on_db!(store.db(), pool => sqlx::query_scalar("SELECT credentials_enc FROM shops WHERE id = $1")
        .bind(a.shop.get()).fetch_one(pool).await.unwrap());
    assert!(
        !raw.windows(6).any(|w| w == b"secret"),
        "no clear secret in the database"
    );
    let b = fixture(store, "商家B").await;
    assert!(matches!(
        store.shop_credentials(b.tenant, a.shop).await,
        Err(StoreError::NotFound)
    ));
}

async fn catalog_rows_never_cross_tenants(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let b = fixture(store, "商家B").await;
    assert_eq!(store.shops(a.tenant).await.unwrap().len(), 1);
    assert!(matches!(
        store.shop(b.tenant, a.shop).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.warehouse(b.tenant, a.warehouse).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.sku(b.tenant, a.sku).await,
        Err(StoreError::NotFound)
    ));
    // A mapping of tenant B's shop onto tenant A's SKU is refused.
    let cross = store
        .map_shop_sku(
            b.tenant,
            b.shop,
            "P1",
            a.sku,
            1,
            &audit(b.tenant, "sku.map", "shop_sku"),
        )
        .await;
    assert!(matches!(cross, Err(StoreError::NotFound)));
    let mapped = store
        .map_shop_sku(
            a.tenant,
            a.shop,
            "P1",
            a.sku,
            2,
            &audit(a.tenant, "sku.map", "shop_sku"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.shop_sku(a.tenant, a.shop, "P1").await.unwrap(),
        Some(mapped)
    );
    // The same SKU code is fine in another tenant, not twice in one.
    let dup = store
        .create_sku(
            a.tenant,
            &NewSku {
                code: SkuCode::parse("TEE-01").unwrap(),
                name: Name::parse("x").unwrap(),
                barcode: None,
                weight: Grams::new(1).unwrap(),
                size: SizeMm::default(),
                cost: Fen(0),
            },
            &audit(a.tenant, "sku.create", "sku"),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(m)) if m.contains("TEE-01")));
    assert_eq!(
        store
            .sku_by_code(b.tenant, &SkuCode::parse("TEE-01").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        b.sku
    );
}

async fn the_same_platform_order_is_stored_once(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let order = new_order(&a, "6921000000001", "13812345678", t0());
    let first = store
        .upsert_order(a.tenant, &order, &system(), t0())
        .await
        .unwrap();
    assert!(matches!(first, Upsert::Created(_)));
    let again = store
        .upsert_order(a.tenant, &order, &system(), t0())
        .await
        .unwrap();
    assert_eq!(
        again,
        Upsert::Unchanged(first.order_id()),
        "a duplicate push changes nothing"
    );

    let mut newer = order.clone();
    newer.platform_updated_at = Some(t0() + Duration::minutes(5));
    newer.seller_note = Some("送小样".into());
    assert_eq!(
        store
            .upsert_order(a.tenant, &newer, &system(), t0())
            .await
            .unwrap(),
        Upsert::Updated(first.order_id())
    );

    let mut older = order.clone();
    older.platform_updated_at = Some(t0() + Duration::minutes(1));
    older.seller_note = Some("stale".into());
    assert_eq!(
        store
            .upsert_order(a.tenant, &older, &system(), t0())
            .await
            .unwrap(),
        Upsert::Unchanged(first.order_id()),
        "out-of-order delivery is ignored"
    );

    let stored = store.order(a.tenant, first.order_id()).await.unwrap();
    assert_eq!(stored.seller_note.as_deref(), Some("送小样"));
    assert_eq!(stored.lines.len(), 1);
    assert_eq!(stored.lines[0].quantity, 2);
    assert_eq!(stored.state, OrderState::New);
    assert_eq!(
        store
            .orders(
                a.tenant,
                &OrderFilter {
                    limit: 50,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let b = fixture(store, "商家B").await;
    assert!(matches!(
        store.order(b.tenant, first.order_id()).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        matches!(
            store.upsert_order(b.tenant, &order, &system(), t0()).await,
            Err(StoreError::NotFound)
        ),
        "tenant B cannot write into tenant A's shop"
    );
}

async fn receiver_fingerprints_round_trip_per_shop_and_only_for_the_stored_version(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let t1 = t0() + Duration::minutes(5);
    let with_fingerprint = |no: &str, phone: &str, at, fingerprint: &str| NewOrder {
        receiver_fingerprint: Some(fingerprint.into()),
        ..new_order(&a, no, phone, at)
    };
    let mut ids = Vec::new();
    for no in ["F-1", "F-2"] {
        let id = store
            .upsert_order(
                a.tenant,
                &new_order(&a, no, "13812345678", t1),
                &system(),
                t0(),
            )
            .await
            .unwrap()
            .order_id();
        ids.push(id);
    }
    let asked: Vec<PlatformOrderId> = ["F-1", "F-2", "F-3", "F-4"]
        .iter()
        .map(|n| PlatformOrderId::parse(n).unwrap())
        .collect();
    let fingerprints = |asked: &[PlatformOrderId]| {
        let asked = asked.to_vec();
        async move {
            let mut found: Vec<_> = store
                .known_orders(a.tenant, a.shop, &asked)
                .await
                .unwrap()
                .into_iter()
                .filter_map(|(id, k)| Some((id, k.receiver_fingerprint()?.to_string())))
                .collect();
            found.sort();
            found
        }
    };
    assert!(
        fingerprints(&asked).await.is_empty(),
        "an order stored without one has none"
    );
    // The version stored, again, with the receiver stored: its fingerprint is recorded.
    let fingerprint = "ab".repeat(32);
    assert_eq!(
        store
            .upsert_order(
                a.tenant,
                &with_fingerprint("F-1", "13812345678", t1, &fingerprint),
                &system(),
                t0(),
            )
            .await
            .unwrap(),
        Upsert::Unchanged(ids[0])
    );
    assert_eq!(
        store
            .upsert_order(
                a.tenant,
                &with_fingerprint("F-2", "13812345678", t0(), "older"),
                &system(),
                t0(),
            )
            .await
            .unwrap(),
        Upsert::Unchanged(ids[1]),
        "not recorded for a version older than the one stored"
    );
    store
        .upsert_order(
            a.tenant,
            &with_fingerprint("F-2", "13900000000", t1, "not-the-stored-receiver"),
            &system(),
            t0(),
        )
        .await
        .unwrap();
    // A new order comes with its fingerprint.
    store
        .upsert_order(
            a.tenant,
            &with_fingerprint("F-3", "13812345678", t1, "new"),
            &system(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        fingerprints(&asked).await,
        vec![
            (asked[0].clone(), fingerprint.clone()),
            (asked[2].clone(), "new".to_string())
        ],
        "nor for the same version with another receiver than the one stored"
    );
    // More orders than one batch of placeholders, the fingerprinted one last.
    let mut many: Vec<PlatformOrderId> = (0..1200)
        .map(|i| PlatformOrderId::parse(&format!("N-{i}")).unwrap())
        .collect();
    many.push(asked[0].clone());
    assert_eq!(fingerprints(&many).await.len(), 1);
    let b = fixture(store, "商家B").await;
    let held = store.known_orders(a.tenant, a.shop, &many).await.unwrap();
    assert_eq!(
        (held.len(), held[&asked[0]].id, held[&asked[0]].state),
        (1, ids[0], OrderState::New),
        "all asked at once, only the held ones answer"
    );
    assert!(
        store
            .known_orders(b.tenant, a.shop, &asked)
            .await
            .unwrap()
            .is_empty(),
        "another tenant sees none of A's"
    );
    assert!(
        matches!(
            store
                .upsert_order(
                    b.tenant,
                    &with_fingerprint("F-1", "13812345678", t1, "theirs"),
                    &system(),
                    t0()
                )
                .await,
            Err(StoreError::NotFound)
        ),
        "nor writes one"
    );
    // A newer version of the order without a fingerprint (its receiver not decrypted in
    // that pull): the fingerprint of the receiver it keeps stays.
    let t2 = t1 + Duration::minutes(1);
    assert_eq!(
        store
            .upsert_order(
                a.tenant,
                &new_order(&a, "F-1", "13812345678", t2),
                &system(),
                t0(),
            )
            .await
            .unwrap(),
        Upsert::Updated(ids[0])
    );
    store
        .upsert_order(
            a.tenant,
            &with_fingerprint("F-1", "13812345678", t1, "stale"),
            &system(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        fingerprints(&asked[..1]).await,
        vec![(asked[0].clone(), fingerprint)],
        "a fingerprint from a replaced version is not recorded"
    );
    // A newer version with its own receiver brings that receiver's fingerprint.
    store
        .upsert_order(
            a.tenant,
            &with_fingerprint("F-1", "13900000000", t2 + Duration::minutes(1), "moved"),
            &system(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        fingerprints(&asked[..1]).await,
        vec![(asked[0].clone(), "moved".to_string())]
    );
}

async fn existing_order_numbers_are_found_per_shop_and_tenant(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    for no in ["A-1", "A-2"] {
        store
            .upsert_order(
                a.tenant,
                &new_order(&a, no, "13812345678", t0()),
                &system(),
                t0(),
            )
            .await
            .unwrap();
    }
    // More numbers than one batch of placeholders, with the stored ones at both ends.
    let mut asked: Vec<String> = vec!["A-1".into()];
    asked.extend((0..1200).map(|i| format!("N-{i}")));
    asked.push("A-2".into());
    let found = store
        .existing_platform_order_ids(a.tenant, a.shop, &asked)
        .await
        .unwrap();
    assert_eq!(
        found,
        ["A-1".to_string(), "A-2".to_string()].into_iter().collect()
    );
    assert!(
        store
            .existing_platform_order_ids(a.tenant, a.shop, &[])
            .await
            .unwrap()
            .is_empty()
    );
    let b = fixture(store, "商家B").await;
    assert!(
        store
            .existing_platform_order_ids(b.tenant, a.shop, &asked)
            .await
            .unwrap()
            .is_empty(),
        "another tenant sees none of A's order numbers"
    );
    assert!(
        store
            .existing_platform_order_ids(b.tenant, b.shop, &asked)
            .await
            .unwrap()
            .is_empty(),
        "another shop has none of them"
    );
}

/// What intake reads of an order the fixture's shop holds (which it must hold).
async fn held_order(store: &Store, f: &Fixture, number: &PlatformOrderId) -> KnownOrder {
    store
        .known_order(f.tenant, f.shop, number)
        .await
        .unwrap()
        .expect("the order is held")
}

async fn intake_reads_what_it_needs_of_a_held_order(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let number = PlatformOrderId::parse("A-1").unwrap();
    assert_eq!(
        store.known_order(a.tenant, a.shop, &number).await.unwrap(),
        None
    );
    let order = new_order(&a, "A-1", "13812345678", t0());
    let id = match store
        .upsert_order(a.tenant, &order, &system(), t0())
        .await
        .unwrap()
    {
        Upsert::Created(id) => id,
        other => panic!("expected a new order, got {other:?}"),
    };
    let held = held_order(store, &a, &number).await;
    assert_eq!(
        (held.id, held.buyer_openid.as_deref(), held.state),
        (id, None, OrderState::New)
    );
    // The version stored, or an older one, brings nothing; a newer one, or the same one
    // decrypted into a receiver digest fahuo lacks, does; without an update time it may.
    let stored_at = order.platform_updated_at;
    let earlier = stored_at.map(|t| t - Duration::seconds(1));
    let later = stored_at.map(|t| t + Duration::seconds(1));
    assert!(held.holds(stored_at, None));
    assert!(held.holds(earlier, None));
    assert!(held.holds(earlier, Some("new digest")));
    assert!(!held.holds(later, None));
    assert!(!held.holds(stored_at, Some("new digest")));
    assert!(!held.holds(None, None));
    let digested = NewOrder {
        receiver_fingerprint: Some("digest".into()),
        ..order.clone()
    };
    store
        .upsert_order(a.tenant, &digested, &system(), t0())
        .await
        .unwrap();
    let held = held_order(store, &a, &number).await;
    assert!(
        held.holds(stored_at, Some("digest")),
        "the digest is now held"
    );

    store
        .set_buyer_openid(a.tenant, id, "o-buyer")
        .await
        .unwrap();
    let held = held_order(store, &a, &number).await;
    assert_eq!(held.buyer_openid.as_deref(), Some("o-buyer"));
    assert_eq!(
        store.order_receiver(a.tenant, id).await.unwrap(),
        order.receiver
    );
    assert_eq!(
        store.order_state(a.tenant, id).await.unwrap(),
        OrderState::New
    );

    let b = fixture(store, "商家B").await;
    assert_eq!(
        store.known_order(b.tenant, a.shop, &number).await.unwrap(),
        None,
        "another tenant does not see A's order"
    );
    assert!(matches!(
        store.order_receiver(b.tenant, id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.order_state(b.tenant, id).await,
        Err(StoreError::NotFound)
    ));
}

async fn concurrent_intake_of_one_order_yields_one_row(db: TestDb) {
    let store = db.store.clone();
    let a = fixture(&store, "商家A").await;
    let order = new_order(&a, "6921000000002", "13812345678", t0());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, order) = (store.clone(), order.clone());
            tokio::spawn(async move { store.upsert_order(a.tenant, &order, &system(), t0()).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        if let Upsert::Created(_) = t.await.unwrap().unwrap() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(
        store
            .orders(
                a.tenant,
                &OrderFilter {
                    limit: 50,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn receivers_are_encrypted_and_searchable_by_phone_tail(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let id = store
        .upsert_order(
            a.tenant,
            &new_order(&a, "P-1", "13812345678", t0()),
            &system(),
            t0(),
        )
        .await
        .unwrap()
        .order_id();
    store
        .upsert_order(
            a.tenant,
            &new_order(&a, "P-2", "13900001111", t0()),
            &system(),
            t0(),
        )
        .await
        .unwrap();

    let raw: Vec<u8> = on_db!(store.db(), pool => sqlx::query_scalar("SELECT receiver_enc FROM orders WHERE id = $1")
        .bind(id.get()).fetch_one(pool).await.unwrap());
    assert!(
        !raw.windows(11).any(|w| w == b"13812345678"),
        "no clear phone at rest"
    );
    let clear_columns: String = on_db!(store.db(), pool => sqlx::query_scalar(
        "SELECT receiver_name_masked || receiver_phone_masked || receiver_phone_tail_hash FROM orders WHERE id = $1")
        .bind(id.get()).fetch_one(pool).await.unwrap());
    assert!(!clear_columns.contains("13812345678") && !clear_columns.contains("张三"));

    let page = store
        .orders(
            a.tenant,
            &OrderFilter {
                phone_last_four: Some("5678".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].receiver.phone, "138****5678");
    assert_eq!(page.items[0].receiver.name, "张*");
    assert_eq!(
        store
            .order(a.tenant, id)
            .await
            .unwrap()
            .receiver
            .phone
            .as_str(),
        "13812345678",
        "decrypts for printing"
    );
}

/// Orders stored before the receiver-name hash existed get it at the next start (it needs
/// the key, so no SQL migration could compute it), and are then found by name.
async fn orders_stored_without_a_name_hash_get_one_at_migration(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let id = store
        .upsert_order(
            a.tenant,
            &new_order(&a, "P-OLD", "13812345678", t0()),
            &system(),
            t0(),
        )
        .await
        .unwrap()
        .order_id();
    let by_name = OrderFilter {
        receiver_name: Some("张三".into()),
        limit: 10,
        ..Default::default()
    };
    on_db!(store.db(), pool => sqlx::query("UPDATE orders SET receiver_name_hash = NULL WHERE id = $1")
        .bind(id.get()).execute(pool).await.unwrap().rows_affected());
    assert!(
        store
            .orders(a.tenant, &by_name)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    store.migrate().await.unwrap();

    let found: Vec<_> = store
        .orders(a.tenant, &by_name)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(found, vec![id]);
    // Running it again (every start) finds nothing left to do.
    store.migrate().await.unwrap();
}

async fn orders_move_only_along_the_state_machine_with_audit(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let id = store
        .upsert_order(
            a.tenant,
            &new_order(&a, "P-1", "13812345678", t0()),
            &system(),
            t0(),
        )
        .await
        .unwrap()
        .order_id();
    let refused = store
        .transition_order(a.tenant, id, OrderEvent::Ship, &system(), t0())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Illegal(_))),
        "a new order cannot ship"
    );
    assert_eq!(
        store
            .transition_order(a.tenant, id, OrderEvent::Approve, &system(), t0())
            .await
            .unwrap(),
        OrderState::Approved
    );
    assert_eq!(
        store
            .transition_order(a.tenant, id, OrderEvent::Allocate, &system(), t0())
            .await
            .unwrap(),
        OrderState::Allocated
    );
    let b = fixture(store, "商家B").await;
    assert!(matches!(
        store
            .transition_order(b.tenant, id, OrderEvent::Cancel, &system(), t0())
            .await,
        Err(StoreError::NotFound)
    ));

    let log = store
        .audit_log(
            a.tenant,
            &AuditFilter {
                entity_type: Some("order".into()),
                entity_id: Some(id.get()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = log.items.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["order.allocate", "order.approve", "order.created"]
    );
    assert_eq!(
        log.items[0].entry.before,
        Some(serde_json::json!({"state": "approved"}))
    );
    assert_eq!(
        log.items[0].entry.after,
        Some(serde_json::json!({"state": "allocated"}))
    );
    let counts = store.order_counts(a.tenant, None).await.unwrap();
    assert_eq!(counts, vec![(OrderState::Allocated, 1)]);
}

async fn holds_put_orders_aside_until_released(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let id = store
        .upsert_order(
            a.tenant,
            &new_order(&a, "P-1", "13812345678", t0()),
            &system(),
            t0(),
        )
        .await
        .unwrap()
        .order_id();
    store
        .hold_order(
            a.tenant,
            id,
            "address_incomplete",
            "地址缺少区县",
            &system(),
            t0(),
        )
        .await
        .unwrap();
    store
        .hold_order(
            a.tenant,
            id,
            "buyer_note",
            "买家留言需客服确认",
            &system(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.order(a.tenant, id).await.unwrap().state,
        OrderState::OnHold
    );
    assert_eq!(store.holds(a.tenant, id).await.unwrap().len(), 2);
    let filter = OrderFilter {
        state: Some(OrderState::OnHold),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store.orders(a.tenant, &filter).await.unwrap().items.len(),
        1
    );
    assert_eq!(
        store
            .release_order(a.tenant, id, &system(), t0())
            .await
            .unwrap(),
        OrderState::Approved
    );
    assert!(
        store
            .holds(a.tenant, id)
            .await
            .unwrap()
            .iter()
            .all(|h| h.released_at.is_some())
    );
}

async fn concurrent_reservations_never_oversell(db: TestDb) {
    let store = db.store.clone();
    let a = fixture(&store, "商家A").await;
    store
        .move_stock(
            a.tenant,
            &StockMovement::new(a.warehouse, a.sku, MovementKind::Inbound, 10).unwrap(),
            "test",
            t0(),
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let m = StockMovement::new(a.warehouse, a.sku, MovementKind::Reserve, 1).unwrap();
                store.move_stock(a.tenant, &m, "test", t0()).await
            })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => granted += 1,
            Err(StoreError::InsufficientStock(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(granted, 10, "exactly the stock on hand is reserved");
    let level = store.stock_levels(a.tenant, Some(a.sku)).await.unwrap()[0];
    assert_eq!(
        (level.on_hand, level.reserved, level.available()),
        (10, 10, 0)
    );
}

async fn ledger_always_sums_to_stock(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let b = fixture(store, "商家B").await;
    let steps = [
        (MovementKind::Inbound, 20),
        (MovementKind::Reserve, 5),
        (MovementKind::Deduct, 3),
        (MovementKind::Release, 2),
        (MovementKind::Return, 1),
        (MovementKind::Adjust, -4),
    ];
    for (kind, q) in steps {
        store
            .move_stock(
                a.tenant,
                &StockMovement::new(a.warehouse, a.sku, kind, q)
                    .unwrap()
                    .with_note("t"),
                "tester",
                t0(),
            )
            .await
            .unwrap();
    }
    let refused = store
        .move_stock(
            a.tenant,
            &StockMovement::new(a.warehouse, a.sku, MovementKind::Deduct, 1).unwrap(),
            "tester",
            t0(),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::InsufficientStock(_))),
        "nothing reserved is left to deduct"
    );
    let level = store.stock_levels(a.tenant, None).await.unwrap()[0];
    assert_eq!((level.on_hand, level.reserved), (14, 0));
    let checks = store.check_stock_ledger(a.tenant).await.unwrap();
    assert!(checks.iter().all(|c| c.consistent()), "{checks:?}");
    assert_eq!(
        store
            .stock_ledger(a.tenant, a.warehouse, a.sku)
            .await
            .unwrap()
            .len(),
        steps.len()
    );
    let cross = store
        .move_stock(
            b.tenant,
            &StockMovement::new(a.warehouse, a.sku, MovementKind::Inbound, 1).unwrap(),
            "x",
            t0(),
        )
        .await;
    assert!(
        matches!(cross, Err(StoreError::NotFound)),
        "another tenant cannot move this stock"
    );
    store
        .set_safety_stock(a.tenant, a.warehouse, a.sku, 14)
        .await
        .unwrap();
    let reserve = StockMovement::new(a.warehouse, a.sku, MovementKind::Reserve, 1).unwrap();
    assert!(
        matches!(
            store.move_stock(a.tenant, &reserve, "t", t0()).await,
            Err(StoreError::InsufficientStock(_))
        ),
        "safety stock is not sold"
    );
}

async fn jobs_are_deduplicated_claimed_and_completed(db: TestDb) {
    let store = &db.store;
    let job = NewJob::new("ship", serde_json::json!({"package": 1}), t0()).dedupe("ship:1");
    let id = store.enqueue(&job, t0()).await.unwrap().unwrap();
    assert_eq!(
        store.enqueue(&job, t0()).await.unwrap(),
        None,
        "same dedupe key, no second job"
    );
    store
        .enqueue(
            &NewJob::new("ship", serde_json::json!({}), t0() + Duration::minutes(10)),
            t0(),
        )
        .await
        .unwrap();
    store
        .enqueue(&NewJob::new("other", serde_json::json!({}), t0()), t0())
        .await
        .unwrap();

    let claimed = store
        .claim_jobs("w1", &["ship"], t0(), Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "only due jobs of the asked kinds");
    assert_eq!(
        (claimed[0].id, claimed[0].attempts, claimed[0].state),
        (id, 1, JobState::Running)
    );
    assert!(
        store
            .claim_jobs("w2", &["ship"], t0(), Duration::seconds(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "a leased job is not claimed twice"
    );
    assert!(
        !store.complete_job(&claimed[0], "w2", t0()).await.unwrap(),
        "only the owner completes"
    );
    assert_eq!(
        store.running_jobs().await.unwrap(),
        claimed,
        "the running jobs, with their lease holders"
    );
    assert!(store.complete_job(&claimed[0], "w1", t0()).await.unwrap());
    assert_eq!(store.job(id).await.unwrap().state, JobState::Done);
    assert_eq!(store.job_counts().await.unwrap().done, 1);
    assert!(store.running_jobs().await.unwrap().is_empty());
    assert_eq!(
        store.done_jobs_per_worker().await.unwrap(),
        [("w1".to_string(), 1)],
        "a finished job keeps the worker that finished it"
    );
}

/// A thousand retries falling due at once (the clock jumped) do not push a newer job of
/// another kind behind them: each kind's oldest due job comes before any kind's second, counting
/// what the worker already runs of each kind, and no kind gets more than it may take.
async fn kinds_take_turns_when_jobs_are_claimed(db: TestDb) {
    let store = &db.store;
    let lease = Duration::seconds(60);
    for i in 0..20 {
        let old = t0() - Duration::hours(1) + Duration::seconds(i);
        store
            .enqueue(&NewJob::new("notify", serde_json::json!({}), old), t0())
            .await
            .unwrap();
    }
    for kind in ["ship", "subscribe"] {
        store
            .enqueue(&NewJob::new(kind, serde_json::json!({}), t0()), t0())
            .await
            .unwrap();
    }
    let kinds = |jobs: &[fahuo_store::jobs::Job]| {
        let mut kinds: Vec<String> = jobs.iter().map(|j| j.kind.clone()).collect();
        kinds.sort();
        kinds
    };
    let claimed = store
        .claim_jobs("w", &["notify", "ship", "subscribe"], t0(), lease, 4)
        .await
        .unwrap();
    assert_eq!(
        kinds(&claimed),
        ["notify", "notify", "ship", "subscribe"],
        "one of each kind first, then the oldest of the flood"
    );
    assert!(claimed[0].run_at < t0(), "the flood's oldest first");

    for kind in ["ship", "subscribe"] {
        store
            .enqueue(&NewJob::new(kind, serde_json::json!({}), t0()), t0())
            .await
            .unwrap();
    }
    let share = |kind, at_most, running| KindShare {
        kind,
        at_most,
        running,
    };
    let claimed = store
        .claim_jobs_fairly(
            "w",
            &[
                share("notify", 3, 2),
                share("ship", 0, 0),
                share("subscribe", 5, 1),
            ],
            t0(),
            lease,
            3,
        )
        .await
        .unwrap();
    assert_eq!(
        kinds(&claimed),
        ["notify", "notify", "subscribe"],
        "the kind running less goes first; a kind with no room waits"
    );
}

/// The prepared statements the pool's connections hold, summed over every open connection.
async fn cached_statements(store: &Store) -> usize {
    use sqlx::Connection;
    on_db!(store.db(), pool => {
        let mut held = Vec::new();
        for _ in 0..pool.size() {
            held.push(pool.acquire().await.unwrap());
        }
        held.iter().map(|c| c.cached_statements_size()).sum()
    })
}

/// A runner claims with a different mix of running jobs nearly every time; each mix must not
/// become a statement of its own (a cache of hundreds of large claim programs per connection
/// was most of a pipeline run's memory, and each was parsed and planned again).
async fn claims_share_one_statement_whatever_the_runner_runs(db: TestDb) {
    let store = &db.store;
    let lease = Duration::seconds(60);
    let kinds = ["notify", "ship", "subscribe", "sync"];
    store.claim_jobs("w", &kinds, t0(), lease, 1).await.unwrap();
    let before = cached_statements(store).await;
    for mix in 0..60i64 {
        let shares: Vec<KindShare> = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| KindShare {
                kind,
                at_most: (mix + i as i64) % 4,
                running: mix / 4 + i as i64,
            })
            .collect();
        store
            .claim_jobs_fairly("w", &shares, t0(), lease, 3)
            .await
            .unwrap();
    }
    // A statement per mix would add 60. One claim statement (and the dead-letter sweep's) per
    // connection adds a few; the margin allows for a connection sqlx had not yet returned to
    // the pool when `before` was counted (its earlier statements are counted only after).
    let added = cached_statements(store).await.saturating_sub(before);
    assert!(
        added < 20,
        "60 mixes of running jobs added {added} cached statements"
    );
}

/// Lookups by a list of values (an import's order numbers, a pull's receiver fingerprints,
/// the stock of a review's SKUs, the order list's shops) come with every length; each length
/// must not become a statement of its own in every connection's cache. The lists are padded to
/// a few fixed lengths, which must not change what they find.
async fn lists_of_any_length_share_a_few_statements(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    // Orders for the even numbers, stock for every fifth SKU asked: most of each list finds
    // nothing, and the lists end in a hit as often as in a miss.
    for i in (0..120).step_by(2) {
        store
            .upsert_order(
                a.tenant,
                &new_order(&a, &format!("Q-{i}"), "13812345678", t0()),
                &system(),
                t0(),
            )
            .await
            .unwrap();
    }
    let mut skus = Vec::new();
    for i in 0..120i64 {
        if i % 5 != 4 {
            skus.push(SkuId(1_000_000 + i));
            continue;
        }
        let sku = store
            .create_sku(
                a.tenant,
                &NewSku {
                    code: SkuCode::parse(&format!("MUG-{i}")).unwrap(),
                    name: Name::parse("马克杯").unwrap(),
                    barcode: None,
                    weight: Grams::new(300).unwrap(),
                    size: SizeMm {
                        length: 100,
                        width: 100,
                        height: 100,
                    },
                    cost: Fen(800),
                },
                &audit(a.tenant, "sku.create", "sku"),
            )
            .await
            .unwrap()
            .id;
        store
            .move_stock(
                a.tenant,
                &StockMovement::new(a.warehouse, sku, MovementKind::Inbound, i + 1).unwrap(),
                "test",
                t0(),
            )
            .await
            .unwrap();
        skus.push(sku);
    }
    let all_stock = store.stock_levels(a.tenant, None).await.unwrap();
    let numbers: Vec<String> = (0..120).map(|i| format!("Q-{i}")).collect();
    let shops: Vec<ShopId> = (0..20)
        .map(|i| {
            if i == 0 {
                a.shop
            } else {
                ShopId(1_000_000 + i)
            }
        })
        .collect();
    let count_in = |n: usize| OrderFilter {
        shops: Some(shops[..n].iter().rev().copied().collect()),
        ..Default::default()
    };
    store
        .existing_platform_order_ids(a.tenant, a.shop, &numbers[..1])
        .await
        .unwrap();
    store.stock_of_skus(a.tenant, &skus[..1]).await.unwrap();
    store
        .count_orders(a.tenant, &count_in(1), 1000)
        .await
        .unwrap();
    let before = cached_statements(store).await;
    for n in 1..=120 {
        let found = store
            .existing_platform_order_ids(a.tenant, a.shop, &numbers[..n])
            .await
            .unwrap();
        let expected: std::collections::HashSet<String> =
            numbers[..n].iter().step_by(2).cloned().collect();
        assert_eq!(found, expected, "order numbers among the first {n}");
        let levels = store.stock_of_skus(a.tenant, &skus[..n]).await.unwrap();
        let expected: Vec<_> = all_stock
            .iter()
            .filter(|l| skus[..n].contains(&l.sku_id))
            .copied()
            .collect();
        assert_eq!(levels, expected, "stock of the first {n} SKUs");
        if n <= shops.len() {
            assert_eq!(
                store
                    .count_orders(a.tenant, &count_in(n), 1000)
                    .await
                    .unwrap(),
                (60, false),
                "orders in the first {n} shops"
            );
        }
    }
    // A statement per length would add some 260 (120 lengths of two lookups, 20 shop
    // counts). Padded, 1..=120 use five lengths of each lookup and 1..=20 three of the count:
    // 13 statements in each connection of the pool, as sqlx hands its idle connections out in
    // turn (and opens more when one has not yet come back). A connection opened during the
    // loop also caches the lookups' other statements (a CI run counted 54 over 4), so the
    // bound is 20 per connection: the old code added 34–65 per connection.
    let connections = on_db!(store.db(), pool => pool.size()) as usize;
    let added = cached_statements(store).await.saturating_sub(before);
    assert!(
        added <= 20 * connections,
        "lists of 1 to 120 values added {added} cached statements over {connections} connections"
    );
    // Longer than one statement takes: asked in parts, found once each, the stock still in
    // (warehouse, SKU) order.
    let mut long: Vec<SkuId> = (0..1200).map(|i| SkuId(2_000_000 + i)).collect();
    let stocked: Vec<SkuId> = skus
        .iter()
        .copied()
        .filter(|s| s.get() < 1_000_000)
        .collect();
    long[0] = stocked[2];
    long[700] = stocked[1];
    long[1199] = stocked[0];
    long.push(stocked[2]);
    let levels = store.stock_of_skus(a.tenant, &long).await.unwrap();
    assert_eq!(
        levels.iter().map(|l| l.sku_id).collect::<Vec<_>>(),
        stocked[..3].to_vec()
    );
}

async fn failed_jobs_retry_then_land_in_the_dead_letter(db: TestDb) {
    let store = &db.store;
    let tenant = fixture(store, "商家A").await.tenant;
    let id = store
        .enqueue(
            &NewJob::new("sync", serde_json::json!({}), t0())
                .for_tenant(tenant)
                .max_attempts(2),
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    let job = store
        .claim_jobs("w", &["sync"], t0(), Duration::seconds(30), 1)
        .await
        .unwrap()
        .remove(0);
    assert!(
        store
            .fail_job(
                &job,
                "w",
                "HTTP 503",
                Some(t0() + Duration::seconds(10)),
                t0()
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_jobs(
                "w",
                &["sync"],
                t0() + Duration::seconds(5),
                Duration::seconds(30),
                1
            )
            .await
            .unwrap()
            .is_empty(),
        "not before its retry time"
    );
    let job = store
        .claim_jobs(
            "w",
            &["sync"],
            t0() + Duration::seconds(10),
            Duration::seconds(30),
            1,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(job.attempts, 2);
    assert!(
        store
            .fail_job(
                &job,
                "w",
                "HTTP 503 again",
                Some(t0() + Duration::seconds(20)),
                t0()
            )
            .await
            .unwrap()
    );
    let dead = store.job(id).await.unwrap();
    assert_eq!(dead.state, JobState::Dead, "attempts used up");
    assert_eq!(dead.last_error.as_deref(), Some("HTTP 503 again"));
    let letter = store.jobs(tenant, JobState::Dead, None, 10).await.unwrap();
    assert_eq!(letter.items.len(), 1);
    store
        .retry_dead_job(tenant, id, t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        store.job(id).await.unwrap().state,
        JobState::Queued,
        "an operator can retry it"
    );
}

async fn an_expired_lease_passes_the_job_to_another_worker(db: TestDb) {
    let store = &db.store;
    let id = store
        .enqueue(&NewJob::new("waybill", serde_json::json!({}), t0()), t0())
        .await
        .unwrap()
        .unwrap();
    let first = store
        .claim_jobs("dead-node", &["waybill"], t0(), Duration::seconds(30), 1)
        .await
        .unwrap()
        .remove(0);
    let later = t0() + Duration::seconds(31);
    let second = store
        .claim_jobs("live-node", &["waybill"], later, Duration::seconds(30), 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((second.id, second.attempts), (id, 2));
    assert!(
        !store
            .complete_job(&first, "dead-node", later)
            .await
            .unwrap(),
        "the old owner lost it"
    );
    assert!(
        !store
            .extend_lease(&first, "dead-node", later + Duration::seconds(30))
            .await
            .unwrap()
    );
    assert!(
        store
            .extend_lease(&second, "live-node", later + Duration::seconds(60))
            .await
            .unwrap()
    );
    assert!(
        store
            .complete_job(&second, "live-node", later)
            .await
            .unwrap()
    );
}

async fn a_round_records_the_ended_attempts_and_claims_in_one_call(db: TestDb) {
    let store = &db.store;
    let (short, long) = (Duration::seconds(30), Duration::seconds(600));
    for n in 0..3 {
        store
            .enqueue(
                &NewJob::new("work", serde_json::json!({ "n": n }), t0()),
                t0(),
            )
            .await
            .unwrap();
    }
    let mut first = store
        .claim_jobs("w", &["work"], t0(), long, 2)
        .await
        .unwrap();
    first.extend(
        store
            .claim_jobs("w", &["work"], t0(), short, 1)
            .await
            .unwrap(),
    );
    assert_eq!(first.len(), 3);
    let stolen = store
        .claim_jobs("thief", &["work"], t0() + Duration::seconds(31), long, 3)
        .await
        .unwrap();
    assert_eq!(
        stolen.iter().map(|j| j.id).collect::<Vec<_>>(),
        [first[2].id],
        "the third job's lease lapsed: another worker has it now"
    );
    let lease = long;
    let at = t0() + Duration::seconds(40);
    let finished = [
        Finished {
            job: first[0].clone(),
            outcome: Outcome::Done,
            at,
        },
        Finished {
            job: first[1].clone(),
            outcome: Outcome::Retry {
                error: "gateway 502".into(),
                at: at + Duration::minutes(1),
            },
            at,
        },
        Finished {
            job: first[2].clone(),
            outcome: Outcome::Done,
            at,
        },
    ];
    let shares = [KindShare {
        kind: "work",
        at_most: 5,
        running: 0,
    }];
    let (recorded, claimed) = store
        .settle_and_claim("w", &finished, &shares, at + Duration::minutes(1), lease, 5)
        .await
        .unwrap();
    assert_eq!(
        recorded,
        [true, true, false],
        "a lost lease is not recorded"
    );
    assert_eq!(store.job(first[0].id).await.unwrap().state, JobState::Done);
    let retried = store.job(first[1].id).await.unwrap();
    assert_eq!(
        (retried.state, retried.last_error.as_deref()),
        (JobState::Running, Some("gateway 502")),
        "the retry was due by the claim's time and claimed again in the same call"
    );
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        [first[1].id]
    );
    assert_eq!(
        store.job(first[2].id).await.unwrap().locked_by.as_deref(),
        Some("thief"),
        "the new owner keeps it"
    );

    // Nothing to claim: the outcomes alone.
    let done = Finished {
        job: claimed[0].clone(),
        outcome: Outcome::Dead {
            error: "refused".into(),
        },
        at,
    };
    let (recorded, claimed) = store
        .settle_and_claim("w", &[done], &[], at, lease, 0)
        .await
        .unwrap();
    assert_eq!((recorded, claimed.len()), (vec![true], 0));
    assert_eq!(store.job(first[1].id).await.unwrap().state, JobState::Dead);
}

async fn concurrent_workers_run_each_job_exactly_once(db: TestDb) {
    let store = db.store.clone();
    let total = 200;
    for i in 0..total {
        store
            .enqueue(
                &NewJob::new("work", serde_json::json!({ "i": i }), t0()),
                t0(),
            )
            .await
            .unwrap();
    }
    let runs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let (store, runs) = (store.clone(), runs.clone());
            tokio::spawn(async move {
                let name = format!("worker-{w}");
                loop {
                    let jobs = store
                        .claim_jobs(&name, &["work"], t0(), Duration::seconds(300), 7)
                        .await
                        .unwrap();
                    if jobs.is_empty() {
                        break;
                    }
                    for job in jobs {
                        runs.lock()
                            .unwrap()
                            .push(job.payload["i"].as_i64().unwrap());
                        assert!(store.complete_job(&job, &name, t0()).await.unwrap());
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let mut runs = runs.lock().unwrap().clone();
    runs.sort();
    assert_eq!(
        runs,
        (0..total).collect::<Vec<_>>(),
        "every job ran, none twice"
    );
}

async fn the_audit_log_pages_newest_first(db: TestDb) {
    let store = &db.store;
    let tenant = fixture(store, "商家A").await.tenant;
    for i in 0..5 {
        let mut e = audit(tenant, "receiver.reveal", "order");
        e.entity_id = Some(i);
        store.append_audit(&e).await.unwrap();
    }
    let first = store
        .audit_log(
            tenant,
            &AuditFilter {
                entity_type: Some("order".into()),
                limit: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|r| r.entry.entity_id.unwrap())
            .collect::<Vec<_>>(),
        [4, 3, 2]
    );
    let rest = store
        .audit_log(
            tenant,
            &AuditFilter {
                entity_type: Some("order".into()),
                before_id: first.next_cursor,
                limit: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|r| r.entry.entity_id.unwrap())
            .collect::<Vec<_>>(),
        [1, 0]
    );
    assert_eq!(rest.next_cursor, None);
}

async fn outbox_jobs_commit_or_roll_back_with_their_transaction(db: TestDb) {
    use fahuo_store::{enqueue_job, in_tx};
    let store = &db.store;
    let job = NewJob::new("ship", serde_json::json!({"package": 7}), t0()).dedupe("ship:7");
    // A business change that fails takes its job with it...
    let failed: Result<(), StoreError> = async {
        in_tx!(store.db(), tx => {
            let enqueued = enqueue_job!(&mut *tx, &job, t0());
            if enqueued.is_some() {
                return Err(StoreError::Conflict("the change failed after enqueueing".into()));
            }
        });
        Ok(())
    }
    .await;
    assert!(failed.is_err());
    assert_eq!(
        store.job_counts().await.unwrap().queued,
        0,
        "nothing enqueued by a rolled-back change"
    );
    // ...and one that commits makes the job visible, once, whatever retries enqueue again.
    for _ in 0..2 {
        let r: Result<Option<i64>, StoreError> =
            async { Ok(in_tx!(store.db(), tx => enqueue_job!(&mut *tx, &job, t0()))) }.await;
        r.unwrap();
    }
    assert_eq!(store.job_counts().await.unwrap().queued, 1);
}

async fn one_sync_per_shop_holds_the_lease_until_it_releases_or_lapses(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "甲").await;
    let b = fixture(store, "乙").await;
    let until = t0() + Duration::minutes(5);
    let first = store
        .claim_sync(a.tenant, a.shop, t0(), until)
        .await
        .unwrap()
        .expect("a free shop can be claimed");
    assert!(
        store
            .claim_sync(a.tenant, a.shop, t0(), until)
            .await
            .unwrap()
            .is_none(),
        "a second run finds the lease held"
    );
    assert!(
        store
            .claim_sync(b.tenant, b.shop, t0(), until)
            .await
            .unwrap()
            .is_some(),
        "another shop has a lease of its own"
    );
    assert!(
        store
            .claim_sync(b.tenant, a.shop, t0(), until)
            .await
            .unwrap()
            .is_none(),
        "another tenant cannot claim the shop"
    );

    let later = until + Duration::minutes(5);
    assert!(
        store
            .renew_sync(a.tenant, a.shop, &first, later)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_sync(a.tenant, a.shop, until, later)
            .await
            .unwrap()
            .is_none(),
        "a renewed lease holds past its first end"
    );
    let second = store
        .claim_sync(a.tenant, a.shop, later, later + Duration::minutes(5))
        .await
        .unwrap()
        .expect("a lapsed lease can be taken over");
    assert!(
        !store
            .renew_sync(a.tenant, a.shop, &first, later)
            .await
            .unwrap(),
        "the run that lost its lease learns it on renewal"
    );
    store.release_sync(a.tenant, a.shop, first).await.unwrap();
    assert!(
        store
            .claim_sync(a.tenant, a.shop, later, later)
            .await
            .unwrap()
            .is_none(),
        "releasing a lost lease does not free the new holder's"
    );
    store.release_sync(a.tenant, a.shop, second).await.unwrap();
    assert!(
        store
            .claim_sync(a.tenant, a.shop, later, later)
            .await
            .unwrap()
            .is_some(),
        "a released lease is free at once"
    );
}

async fn sync_progress_only_moves_forward_and_stays_in_its_tenant(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "甲").await;
    let b = fixture(store, "乙").await;
    assert_eq!(
        store.sync_state(a.tenant, a.shop).await.unwrap(),
        Default::default(),
        "before the first run nothing is known"
    );

    let hw = t0() + Duration::hours(2);
    store
        .record_sync_progress(a.tenant, a.shop, hw, 40, t0())
        .await
        .unwrap();
    store
        .record_sync_progress(a.tenant, a.shop, t0() + Duration::hours(1), 5, t0())
        .await
        .unwrap();
    let state = store.sync_state(a.tenant, a.shop).await.unwrap();
    assert_eq!(
        state.high_water,
        Some(hw),
        "an older run never moves the mark back"
    );
    assert_eq!(state.orders_pulled, 45);

    let later = t0() + Duration::minutes(5);
    store
        .record_sync_failure(a.tenant, a.shop, "20000 服务不可用", later)
        .await
        .unwrap();
    store
        .record_sync_failure(a.tenant, a.shop, "20000 服务不可用", later)
        .await
        .unwrap();
    let state = store.sync_state(a.tenant, a.shop).await.unwrap();
    assert_eq!(state.high_water, Some(hw), "a failure keeps the mark");
    assert_eq!(state.consecutive_failures, 2);
    assert_eq!(state.last_error.as_deref(), Some("20000 服务不可用"));
    assert_eq!(state.last_success_at, Some(t0()));

    store
        .record_sync_progress(a.tenant, a.shop, hw, 0, later)
        .await
        .unwrap();
    let state = store.sync_state(a.tenant, a.shop).await.unwrap();
    assert_eq!((state.consecutive_failures, state.last_error), (0, None));

    assert!(
        matches!(
            store
                .record_sync_progress(b.tenant, a.shop, hw, 1, t0())
                .await,
            Err(StoreError::NotFound)
        ),
        "another tenant cannot touch the shop's sync"
    );
    assert_eq!(
        store.sync_state(b.tenant, a.shop).await.unwrap(),
        Default::default()
    );
}

async fn webhook_keys_find_their_shop_and_credentials_can_be_replaced(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "甲").await;
    let b = fixture(store, "乙").await;
    let shop_a = store.shop(a.tenant, a.shop).await.unwrap();
    let shop_b = store.shop(b.tenant, b.shop).await.unwrap();
    assert_eq!(shop_a.webhook_key.len(), 32);
    assert_ne!(shop_a.webhook_key, shop_b.webhook_key);
    let found = store
        .shop_by_webhook_key(&shop_a.webhook_key)
        .await
        .unwrap();
    assert_eq!(found, Some(shop_a.clone()));
    assert_eq!(store.shop_by_webhook_key("nope").await.unwrap(), None);
    assert_eq!(store.shop_by_webhook_key("").await.unwrap(), None);

    let refreshed = ShopCredentials {
        app_key: "key".into(),
        app_secret: "very-secret-app-secret".into(),
        access_token: Some("fresh-token".into()),
        refresh_token: Some("fresh-refresh".into()),
        ..Default::default()
    };
    store
        .set_shop_credentials(a.tenant, a.shop, &refreshed)
        .await
        .unwrap();
    assert_eq!(
        store.shop_credentials(a.tenant, a.shop).await.unwrap(),
        Some(refreshed.clone())
    );
    assert!(matches!(
        store
            .set_shop_credentials(b.tenant, a.shop, &refreshed)
            .await,
        Err(StoreError::NotFound)
    ));

    let due: Vec<ShopId> = store
        .shops_to_sync()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(due, vec![a.shop, b.shop]);
    store
        .set_shop_status(
            b.tenant,
            b.shop,
            fahuo_domain::catalog::ShopStatus::Disabled,
        )
        .await
        .unwrap();
    let due: Vec<ShopId> = store
        .shops_to_sync()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(due, vec![a.shop], "disabled shops are not synced");
}

// ---------------------------------------------------------------- waybills and printing

fn zto_account(name: &str, quota: Option<i64>) -> NewCarrierAccount {
    NewCarrierAccount {
        name: name.into(),
        service: WaybillService::Kdniao,
        carrier: CarrierCode::parse("ZTO").unwrap(),
        base_url: "http://127.0.0.1:1/kdniao".into(),
        shop_id: None,
        priority: 0,
        sender_name: "杭州仓发货组".into(),
        sender_phone: "057188880000".into(),
        quota,
        low_balance_threshold: 2,
        latency_budget_ms: 800,
    }
}

/// An approved and allocated order of `f`, as one package.
async fn allocated_package(
    store: &Store,
    f: &Fixture,
    platform_order_id: &str,
) -> (OrderId, PackageId) {
    let order = store
        .upsert_order(
            f.tenant,
            &new_order(f, platform_order_id, "13812345678", t0()),
            &system(),
            t0(),
        )
        .await
        .unwrap()
        .order_id();
    store
        .transition_order(f.tenant, order, OrderEvent::Approve, &system(), t0())
        .await
        .unwrap();
    let lines = store.order(f.tenant, order).await.unwrap().lines;
    let plan = PackagePlan {
        warehouse_id: f.warehouse,
        carrier: None,
        weight_g: 500,
        lines: lines.iter().map(|l| (l.id, l.quantity)).collect(),
        units: vec![],
        merge_into: None,
    };
    let package = store
        .store_allocation(
            f.tenant,
            order,
            &[],
            &[plan],
            &audit(f.tenant, "order.allocate", "package"),
        )
        .await
        .unwrap()[0];
    (order, package)
}

fn number(n: &str) -> IssuedNumber {
    IssuedNumber {
        tracking_no: TrackingNo::parse(n).unwrap(),
        sort_code: Some("300-A12".into()),
        hub: Some("杭州转运中心".into()),
    }
}

async fn carrier_accounts_keep_secrets_count_usage_and_stay_in_their_tenant(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let b = fixture(store, "商家B").await;
    let secret = serde_json::json!({"api_key": "EB1", "api_secret": "app-key-that-is-secret"});
    let account = store
        .create_carrier_account(
            a.tenant,
            &zto_account("中通 kdniao", Some(3)),
            &secret,
            &audit(a.tenant, "carrier_account.create", "carrier_account"),
        )
        .await
        .unwrap();
    assert_eq!(
        (account.used, account.remaining(), account.low_balance()),
        (0, Some(3), false)
    );
    let duplicate = store
        .create_carrier_account(
            a.tenant,
            &zto_account("中通 kdniao", None),
            &secret,
            &audit(a.tenant, "carrier_account.create", "carrier_account"),
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "names are unique per tenant"
    );
    let raw: Vec<u8> = on_db!(store.db(), pool => sqlx::query_scalar("SELECT credentials_enc FROM carrier_accounts WHERE id = $1")
        .bind(account.id.get()).fetch_one(pool).await.unwrap());
    assert!(
        !String::from_utf8_lossy(&raw).contains("app-key-that-is-secret"),
        "credentials are encrypted at rest"
    );
    let back: serde_json::Value = store
        .carrier_account_credentials(a.tenant, account.id)
        .await
        .unwrap();
    assert_eq!(back, secret);

    let (_, package) = allocated_package(store, &a, "P-1").await;
    let request = store
        .open_waybill_request_with(a.tenant, package, account.id, None, t0())
        .await
        .unwrap();
    store
        .record_waybill(&request, &account.carrier, &number("73100000000001"), t0())
        .await
        .unwrap();
    let after = store.carrier_account(a.tenant, account.id).await.unwrap();
    assert_eq!(
        (after.used, after.remaining(), after.low_balance()),
        (1, Some(2), false)
    );

    assert!(matches!(
        store.carrier_account(b.tenant, account.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.carrier_accounts(b.tenant).await.unwrap().is_empty());
    assert!(
        store
            .carrier_account_credentials::<serde_json::Value>(b.tenant, account.id)
            .await
            .is_err()
    );
    let foreign = store
        .open_waybill_request_with(b.tenant, package, account.id, None, t0())
        .await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound)),
        "no request on another tenant's package"
    );
}

/// The write-back sweep's safety net: packages in the trigger's states that hold a live
/// number and have no shipment yet, oldest first, from every tenant.
async fn the_write_back_sweep_finds_printed_packages_with_a_number_and_no_shipment(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let b = fixture(store, "商家B").await;
    let mut packages = Vec::new();
    for (f, name, numbered) in [
        (&a, "P-1", true),
        (&b, "P-2", true),
        (&a, "P-3", false),
        (&a, "P-4", true),
    ] {
        let account = store
            .create_carrier_account(
                f.tenant,
                &zto_account(&format!("账号 {name}"), None),
                &serde_json::json!({}),
                &audit(f.tenant, "carrier_account.create", "carrier_account"),
            )
            .await
            .unwrap();
        let (_, package) = allocated_package(store, f, name).await;
        if numbered {
            let request = store
                .open_waybill_request_with(f.tenant, package, account.id, None, t0())
                .await
                .unwrap();
            let tracking = format!("7310000000000{}", packages.len());
            store
                .record_waybill(&request, &account.carrier, &number(&tracking), t0())
                .await
                .unwrap();
        }
        packages.push((f.tenant, package));
    }
    let set_state = |package: PackageId, state: &'static str| async move {
        on_db!(store.db(), pool => {
            sqlx::query("UPDATE packages SET state = $1 WHERE id = $2")
                .bind(state).bind(package.get()).execute(pool).await.unwrap();
        });
    };
    for (_, package) in &packages[..3] {
        set_state(*package, "printed").await;
    }
    set_state(packages[3].1, "packed").await;
    let found = |states: &'static [&'static str], weighed: bool| async move {
        store
            .packages_without_shipment(states, weighed, 10)
            .await
            .unwrap()
    };
    // P-3 has no number; P-4 is packed.
    assert_eq!(
        found(&["printed"], false).await,
        vec![packages[0], packages[1]]
    );
    assert_eq!(
        found(&["printed", "packed"], false).await,
        vec![packages[0], packages[1], packages[3]]
    );
    assert_eq!(found(&["packed"], false).await, vec![packages[3]]);
    assert!(
        found(&["printed", "packed"], true).await.is_empty(),
        "none was weighed"
    );
    // Shipped, a package is no longer the sweep's.
    set_state(packages[0].1, "shipped").await;
    assert_eq!(
        found(&["printed", "packed"], false).await,
        vec![packages[1], packages[3]]
    );
}

/// The tracking sweep opens one parcel per accepted number (not for a number the platform has
/// not accepted), opens nothing more when run again, and opens the new number's parcel once a
/// change is done.
async fn the_tracking_sweep_opens_each_accepted_number_once_and_follows_a_change(db: TestDb) {
    use fahuo_domain::shipping::ShipmentSource;
    use fahuo_store::shipping::NewShipment;
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let mut shipments = Vec::new();
    for (name, number) in [("P-1", "73100000000011"), ("P-2", "73100000000012")] {
        let (order, _) = allocated_package(store, &a, name).await;
        let created = store
            .create_shipments(
                a.tenant,
                &[NewShipment {
                    order_id: order,
                    package_id: None,
                    carrier_code: "ZTO".into(),
                    tracking_no: number.into(),
                    items: vec![],
                    source: ShipmentSource::Manual,
                    import_id: None,
                    supplier_id: None,
                }],
                &system(),
                t0(),
            )
            .await
            .unwrap();
        shipments.push(created[0].id());
    }
    let numbers = || async {
        let mut n: Vec<String> = store
            .parcel_states(a.tenant)
            .await
            .unwrap()
            .into_iter()
            .map(|(number, _)| number)
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        store.open_parcels(t0()).await.unwrap(),
        0,
        "none accepted yet"
    );
    store
        .shipment_succeeded(a.tenant, shipments[0], &system(), t0())
        .await
        .unwrap();
    assert_eq!(store.open_parcels(t0()).await.unwrap(), 1);
    assert_eq!(numbers().await, vec!["73100000000011"]);
    assert_eq!(store.open_parcels(t0()).await.unwrap(), 0, "opened once");
    store
        .shipment_succeeded(a.tenant, shipments[1], &system(), t0())
        .await
        .unwrap();
    let change = store
        .request_shipment_change(
            a.tenant,
            shipments[0],
            "ZTO",
            "73100000000013",
            "贴错面单",
            &system(),
            t0(),
        )
        .await
        .unwrap();
    store
        .finish_shipment_change(a.tenant, change, None, &system(), t0())
        .await
        .unwrap();
    assert_eq!(store.open_parcels(t0()).await.unwrap(), 2);
    assert_eq!(
        numbers().await,
        vec!["73100000000011", "73100000000012", "73100000000013"]
    );
    assert_eq!(store.open_parcels(t0()).await.unwrap(), 0);
}

async fn concurrent_requests_for_one_package_share_one_key_and_one_live_number(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let creds = serde_json::json!({});
    let first = store
        .create_carrier_account(
            a.tenant,
            &zto_account("主账号", None),
            &creds,
            &audit(a.tenant, "carrier_account.create", "carrier_account"),
        )
        .await
        .unwrap();
    let second = store
        .create_carrier_account(
            a.tenant,
            &zto_account("备用账号", None),
            &creds,
            &audit(a.tenant, "carrier_account.create", "carrier_account"),
        )
        .await
        .unwrap();
    let (order, package) = allocated_package(store, &a, "P-1").await;
    // Each account's numbers held against its quota (requests pending, issued or abandoned),
    // as the account reports it.
    let held = || async {
        let used = |id| async move { store.carrier_account(a.tenant, id).await.unwrap().used };
        (used(first.id).await, used(second.id).await)
    };

    // Twenty callers at once: one request row, one key.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .open_waybill_request_with(a.tenant, package, first.id, None, t0())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for t in tasks {
        keys.insert(t.await.unwrap().request_key);
    }
    assert_eq!(keys.len(), 1, "every caller asks under one key: {keys:?}");
    assert_eq!(held().await, (1, 0), "one request, counted once");
    let request = store
        .open_waybill_request(a.tenant, package, first.id)
        .await
        .unwrap()
        .unwrap();

    // The service answers the same key with the same number, however often it is stored.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, request, carrier) = (store.clone(), request.clone(), first.carrier.clone());
            tokio::spawn(async move {
                store
                    .record_waybill(&request, &carrier, &number("73100000000001"), t0())
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Recorded::Live(_)));
    }
    assert_eq!(held().await, (1, 0), "an issued number is still held");
    assert_eq!(
        store.order(a.tenant, order).await.unwrap().state,
        OrderState::WaybillIssued
    );

    // A failover account answered too (its first answer was late): its number loses and is
    // marked for recycling; the package keeps its one live number.
    let late = store
        .open_waybill_request_with(a.tenant, package, second.id, None, t0())
        .await
        .unwrap();
    assert_ne!(late.request_key, request.request_key);
    let outcome = store
        .record_waybill(&late, &second.carrier, &number("73100000000002"), t0())
        .await
        .unwrap();
    assert!(
        matches!(&outcome, Recorded::Superseded(w) if w.tracking_no.as_str() == "73100000000001")
    );
    let live = store.live_waybills(a.tenant).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(
        held().await,
        (1, 1),
        "an abandoned number is held until recycled"
    );
    let abandoned = store.abandoned_waybill_requests(10).await.unwrap();
    assert_eq!(
        abandoned
            .iter()
            .map(|r| r.request_key.as_str())
            .collect::<Vec<_>>(),
        [late.request_key.as_str()]
    );
    store
        .mark_waybill_recycled(&abandoned[0], t0())
        .await
        .unwrap();
    assert!(
        store
            .abandoned_waybill_requests(10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(held().await, (1, 0), "a recycled number is given back");

    // A request the service refused leaves nothing to recycle; a timed-out one does.
    let (_, other) = allocated_package(store, &a, "P-2").await;
    let refused = store
        .open_waybill_request_with(a.tenant, other, first.id, None, t0())
        .await
        .unwrap();
    assert_eq!(held().await, (2, 0));
    store
        .close_waybill_request(&refused, "no balance", false, t0())
        .await
        .unwrap();
    assert_eq!(
        held().await,
        (1, 0),
        "a refused request never held a number"
    );
    let retry = store
        .open_waybill_request_with(a.tenant, other, first.id, None, t0())
        .await
        .unwrap();
    assert_ne!(
        retry.request_key, refused.request_key,
        "a closed request's key is not reused"
    );
    store
        .close_waybill_request(&retry, "timeout", true, t0())
        .await
        .unwrap();
    assert_eq!(store.abandoned_waybill_requests(10).await.unwrap().len(), 1);
    assert_eq!(
        held().await,
        (2, 0),
        "a timed-out request may hold a number"
    );

    // The count kept with the account is the count of its requests.
    let counted: Vec<(i64, i64)> = on_db!(store.db(), pool => sqlx::query_as(
            "SELECT a.id, (SELECT COUNT(*) FROM waybill_requests r WHERE r.account_id = a.id \
             AND r.state IN ('pending', 'issued', 'abandoned')) FROM carrier_accounts a \
             WHERE a.tenant_id = $1 ORDER BY a.id")
        .bind(a.tenant.get()).fetch_all(pool).await.unwrap());
    assert_eq!(counted, [(first.id.get(), 2), (second.id.get(), 0)]);
}

async fn print_jobs_count_reprints_and_a_repeated_key_prints_nothing_twice(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let b = fixture(store, "商家B").await;
    let account = store
        .create_carrier_account(
            a.tenant,
            &zto_account("主账号", None),
            &serde_json::json!({}),
            &audit(a.tenant, "carrier_account.create", "carrier_account"),
        )
        .await
        .unwrap();
    let (mut packages, mut orders) = (Vec::new(), Vec::new());
    for (i, n) in ["73100000000011", "73100000000012"].into_iter().enumerate() {
        let (order, package) = allocated_package(store, &a, &format!("P-{i}")).await;
        orders.push(order);
        let request = store
            .open_waybill_request_with(a.tenant, package, account.id, None, t0())
            .await
            .unwrap();
        store
            .record_waybill(&request, &account.carrier, &number(n), t0())
            .await
            .unwrap();
        packages.push(package);
    }
    let (unissued_order, unissued) = allocated_package(store, &a, "P-9").await;
    let refused = store
        .record_print_job(
            a.tenant,
            None,
            "76x130",
            &[packages[0], unissued],
            None,
            &audit(a.tenant, "print", "print_job"),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "no label without a number"
    );
    assert_eq!(
        store.order(a.tenant, unissued_order).await.unwrap().state,
        OrderState::Allocated
    );

    let first = store
        .record_print_job(
            a.tenant,
            Some("click-1"),
            "76x130",
            &packages,
            None,
            &audit(a.tenant, "print", "print_job"),
        )
        .await
        .unwrap();
    assert_eq!(
        first
            .labels
            .iter()
            .map(|l| (l.tracking_no.as_str(), l.reprint))
            .collect::<Vec<_>>(),
        [("73100000000011", 0), ("73100000000012", 0)]
    );
    assert_eq!(first.reprints, 0);
    for order in &orders {
        assert_eq!(
            store.order(a.tenant, *order).await.unwrap().state,
            OrderState::Printed
        );
    }
    let double_click = store
        .record_print_job(
            a.tenant,
            Some("click-1"),
            "76x130",
            &packages,
            None,
            &audit(a.tenant, "print", "print_job"),
        )
        .await
        .unwrap();
    assert_eq!(double_click, first, "the same key is the same job");
    let reprint = store
        .record_print_job(
            a.tenant,
            Some("click-2"),
            "76x130",
            &packages[1..],
            Some("卡纸"),
            &audit(a.tenant, "print", "print_job"),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            reprint.labels[0].reprint,
            reprint.reprints,
            reprint.reason.as_deref()
        ),
        (1, 1, Some("卡纸"))
    );
    assert_ne!(reprint.id, first.id);
    let orders = store
        .packages_of_order(a.tenant, unissued_order)
        .await
        .unwrap();
    assert_eq!(orders, [unissued], "an order knows its packages");
    assert!(matches!(
        store.print_job(b.tenant, first.id).await,
        Err(StoreError::NotFound)
    ));
    let other_tenant = store
        .record_print_job(
            b.tenant,
            None,
            "76x130",
            &packages,
            None,
            &audit(b.tenant, "print", "print_job"),
        )
        .await;
    assert!(
        other_tenant.is_err(),
        "another tenant cannot print these packages"
    );
}

both_backends!(
    queue_stats_count_each_kind_by_readiness,
    the_queued_jobs_of_a_kind_are_those_waiting_due_or_not
);

/// What a schedule reads to leave alone a subject that already has a run waiting: the jobs of
/// one kind still queued, due now or later (a retry waiting out its backoff), oldest first; not
/// those a worker holds, nor finished ones, nor another kind's.
async fn the_queued_jobs_of_a_kind_are_those_waiting_due_or_not(db: TestDb) {
    let store = &db.store;
    let job = |kind: &str, shop: i64, at: DateTime<Utc>| {
        NewJob::new(kind, serde_json::json!({ "shop_id": shop }), at)
    };
    for (kind, shop, at) in [
        ("sync", 1, t0()),
        ("sync", 2, t0()),
        ("sync", 3, t0() + Duration::minutes(5)),
        ("ship", 4, t0()),
    ] {
        store.enqueue(&job(kind, shop, at), t0()).await.unwrap();
    }
    let claimed = store
        .claim_jobs("w", &["sync"], t0(), Duration::seconds(60), 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store.enqueue(&job("sync", 5, t0()), t0()).await.unwrap();
    let done = store
        .claim_jobs("w", &["sync"], t0(), Duration::seconds(60), 1)
        .await
        .unwrap();
    assert!(store.complete_job(&done[0], "w", t0()).await.unwrap());

    let shops = |jobs: Vec<fahuo_store::jobs::Job>| {
        jobs.iter()
            .map(|j| j.payload["shop_id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shops(store.queued_jobs("sync").await.unwrap()),
        [3, 5],
        "shop 1's run is held by a worker, shop 2's is done; 3 waits for its time, 5 is due"
    );
    assert_eq!(shops(store.queued_jobs("ship").await.unwrap()), [4]);
    assert!(store.queued_jobs("notify").await.unwrap().is_empty());
}

async fn queue_stats_count_each_kind_by_readiness(db: TestDb) {
    let store = &db.store;
    let job = |kind: &str, at: DateTime<Utc>| NewJob::new(kind, serde_json::json!({}), at);
    store.enqueue(&job("ship", t0()), t0()).await.unwrap();
    store
        .enqueue(&job("ship", t0() + Duration::minutes(10)), t0())
        .await
        .unwrap();
    store.enqueue(&job("sync", t0()), t0()).await.unwrap();
    store
        .enqueue(&job("notify", t0()).max_attempts(1), t0())
        .await
        .unwrap();
    store.enqueue(&job("purge", t0()), t0()).await.unwrap();
    let claimed = store
        .claim_jobs(
            "w",
            &["sync", "notify", "purge"],
            t0(),
            Duration::seconds(60),
            10,
        )
        .await
        .unwrap();
    for j in &claimed {
        match j.kind.as_str() {
            "notify" => assert!(store.fail_job(j, "w", "refused", None, t0()).await.unwrap()),
            "purge" => assert!(store.complete_job(j, "w", t0()).await.unwrap()),
            _ => {}
        }
    }

    let stats = store
        .queue_stats(t0() + Duration::minutes(1))
        .await
        .unwrap();
    let summary: Vec<_> = stats
        .iter()
        .map(|s| {
            (
                s.kind.as_str(),
                s.ready,
                s.running,
                s.scheduled,
                s.dead,
                s.oldest_ready_ms,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("notify", 0, 0, 0, 1, 0),
            ("ship", 1, 0, 1, 0, 60_000),
            ("sync", 0, 1, 0, 0, 0),
        ],
        "finished kinds are absent; a future job is scheduled, not ready"
    );
}

/// A database as an earlier release left it (migrated to 0010, before the order list's
/// columns, with a tenant, a shop and an order) upgrades to the head with its rows intact, and
/// the old order lands in its list tab.
async fn an_old_database_upgrades_with_its_rows_intact(db: TestDb) {
    let store = &db.store;
    assert_eq!(store.schema_version().await.unwrap(), 10);
    let a = fixture(store, "老商家").await;
    // The order as release 0010 wrote it (today's upsert writes columns 0011 added).
    on_db!(store.db(), pool => sqlx::query(
            "INSERT INTO orders (tenant_id, shop_id, platform, platform_order_id, state, \
               platform_status, paid_total_fen, freight_fen, ship_by, receiver_enc, \
               receiver_name_masked, receiver_phone_masked, receiver_phone_tail_hash, \
               receiver_province, receiver_city, receiver_county, version, created_at, updated_at) \
             VALUES ($1, $2, 'douyin', '6921000000099', 'approved', '2', 9900, 0, $3, $4, \
               '张*', '138****5678', 'h', '浙江省', '杭州市', '西湖区', 1, $3, $3)")
        .bind(a.tenant.get()).bind(a.shop.get()).bind(t0().timestamp_millis())
        .bind(vec![1u8, 2, 3])
        .execute(pool).await.unwrap().rows_affected());

    store.migrate().await.unwrap();

    assert_eq!(
        store.schema_version().await.unwrap(),
        fahuo_store::backup::sqlite_head_version()
    );
    let tenants = store.tenants().await.unwrap();
    assert_eq!(
        tenants.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["老商家"]
    );
    assert_eq!(store.shops(a.tenant).await.unwrap().len(), 1);
    let rows: Vec<(String, String, i64, String)> = on_db!(store.db(), pool => sqlx::query_as(
            "SELECT platform_order_id, state, paid_total_fen, list_tab FROM orders")
        .fetch_all(pool).await.unwrap());
    assert_eq!(
        rows,
        [(
            "6921000000099".to_string(),
            "approved".to_string(),
            9900,
            "print".to_string()
        )]
    );
}

both_backends!(an_old_database_upgrades_with_its_rows_intact at 10);

/// Migration 0025 keeps each carrier account's numbers held (against its quota) on the account:
/// an account that already had requests gets them counted (pending, issued and abandoned ones,
/// not refused or recycled ones), and a request made after the upgrade counts too.
async fn an_upgrade_counts_the_numbers_each_carrier_account_already_holds(db: TestDb) {
    let store = &db.store;
    let a = fixture(store, "商家A").await;
    let (_, first) = allocated_package(store, &a, "P-1").await;
    let (_, second) = allocated_package(store, &a, "P-2").await;
    let account: i64 = on_db!(store.db(), pool => sqlx::query_scalar(
            "INSERT INTO carrier_accounts (tenant_id, name, service, carrier_code, base_url, \
             credentials_enc, sender_name, sender_phone, quota, created_at) \
             VALUES ($1, '中通老账号', 'kdniao', 'ZTO', 'http://127.0.0.1:9', $2, '张三', \
             '13800000000', 10, $3) RETURNING id")
        .bind(a.tenant.get()).bind(vec![1u8, 2, 3]).bind(t0().timestamp_millis())
        .fetch_one(pool).await.unwrap());
    let requests = [
        (first, "issued"),
        (first, "abandoned"),
        (first, "failed"),
        (first, "recycled"),
        (second, "pending"),
        (second, "abandoned"),
    ];
    for (i, (package, state)) in requests.into_iter().enumerate() {
        on_db!(store.db(), pool => sqlx::query(
                "INSERT INTO waybill_requests (tenant_id, package_id, account_id, request_key, \
                 state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
            .bind(a.tenant.get()).bind(package.get()).bind(account).bind(format!("OLD{i}"))
            .bind(state).bind(t0().timestamp_millis())
            .execute(pool).await.unwrap().rows_affected());
    }

    store.migrate().await.unwrap();

    let account = store
        .carrier_account(a.tenant, CarrierAccountId(account))
        .await
        .unwrap();
    assert_eq!((account.used, account.remaining()), (4, Some(6)));
    let (_, third) = allocated_package(store, &a, "P-3").await;
    store
        .open_waybill_request_with(a.tenant, third, account.id, None, t0())
        .await
        .unwrap();
    let account = store.carrier_account(a.tenant, account.id).await.unwrap();
    assert_eq!(account.used, 5);
}

both_backends!(an_upgrade_counts_the_numbers_each_carrier_account_already_holds at 24);

/// A restore checks the file first: a fahuo SQLite database passes with its counts; one that
/// records a migration this binary does not have (a newer release's) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_from_a_newer_release_is_refused() {
    use fahuo_store::backup::{BackupError, check_sqlite_backup};
    let db = TestDb::sqlite().await;
    fixture(&db.store, "商家A").await;
    let path = std::path::PathBuf::from(db.url.strip_prefix("sqlite://").unwrap());
    let info = check_sqlite_backup(&path).await.unwrap();
    assert_eq!((info.tenants, info.orders), (1, 0));
    let head = fahuo_store::backup::sqlite_head_version();
    assert_eq!(info.schema_version, head);

    on_db!(db.store.db(), pool => sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, 'from the future', TRUE, $2, 1)")
        .bind(head + 1).bind(vec![0u8; 48])
        .execute(pool).await.unwrap().rows_affected());
    match check_sqlite_backup(&path).await {
        Err(BackupError::Newer { found, known, .. }) => {
            assert_eq!((found, known), (head + 1, head))
        }
        other => panic!("expected Newer, got {other:?}"),
    }
}

/// The bundled SQLite is built as `.cargo/config.toml` asks: without the process-wide page
/// cache and memory-statistics locks that parked the order list's connections on each other,
/// and with plans that do not depend on bound values (which re-prepared cached statements).
#[tokio::test]
async fn the_bundled_sqlite_is_built_as_the_cargo_config_asks() {
    let db = TestDb::sqlite().await;
    let options: Vec<String> = on_db!(db.store.db(), pool => {
        sqlx::query_scalar("PRAGMA compile_options").fetch_all(pool).await.unwrap()
    });
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "one page cache for all connections: {options:?}"
    );
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "memory statistics take a global lock on every allocation: {options:?}"
    );
    assert!(
        options.iter().any(|o| o == "ENABLE_QPSG"),
        "a bound LIMIT would make each run of a cached statement prepare it again: {options:?}"
    );
}

/// On PostgreSQL the order list runs on connections of its own that keep one generic plan per
/// statement (planning each execution again cost a quarter of the list's database time), in the
/// test's schema like every other connection; the rest of the store keeps PostgreSQL's default.
#[tokio::test]
async fn the_order_list_runs_on_postgresql_connections_that_keep_generic_plans() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let setting = |store_db: fahuo_store::Db, name: &'static str| async move {
        let fahuo_store::Db::Postgres(pool) = store_db else {
            unreachable!("TestDb::postgres is PostgreSQL")
        };
        let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {name}")))
            .fetch_one(&pool)
            .await
            .unwrap();
        value
    };
    let lists = db.store.list_db().clone();
    let main = db.store.db().clone();
    assert_eq!(
        setting(lists.clone(), "plan_cache_mode").await,
        "force_generic_plan"
    );
    assert_eq!(setting(main.clone(), "plan_cache_mode").await, "auto");
    assert_eq!(
        setting(lists, "search_path").await,
        setting(main, "search_path").await
    );

    // And the list works through them: an empty tenant lists nothing.
    let page = db
        .store
        .order_list(TenantId(1), &OrderFilter::default())
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

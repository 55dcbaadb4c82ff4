//! Order import from spreadsheets, as merchants use it: real xlsx files written with
//! rust_xlsxwriter, CSV in GBK and in UTF-8 with a BOM, multi-line orders, a full-address
//! column, money as typed, every kind of row error and of unreadable file. Store-touching
//! tests run on SQLite and PostgreSQL.

use chrono::{TimeZone, Utc};
use fahuo_app::catalog::ShopInput;
use fahuo_app::import::{
    Field, FileFormat, ImportError, ImportReport, Limits, OrderStatus, parse_file, template_xlsx,
};
use fahuo_app::orders::OrderQuery;
use fahuo_app::{Actor, App, AppError, ManualClock, Settings, Via};
use fahuo_domain::{Fen, Name, OrderId, Role};
use fahuo_store::audit::AuditFilter;
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use serde_json::{Value, json};
use std::sync::Arc;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn app_on(db: &TestDb) -> App {
    App::new(
        db.store.clone(),
        Arc::new(ManualClock::new(now())),
        Settings::default(),
    )
}

async fn merchant(app: &App, name: &str) -> (Actor, i64) {
    let tenant = app
        .create_tenant(&Name::parse(name).unwrap())
        .await
        .unwrap();
    let actor = Actor::cli(tenant.id);
    let shop = app
        .create_shop(&actor, &shop_input("manual", "offline"))
        .await
        .unwrap();
    (actor, shop.id.get())
}

fn shop_input(platform: &str, id: &str) -> ShopInput {
    ShopInput {
        platform: platform.into(),
        name: "线下".into(),
        platform_shop_id: id.into(),
        api_base_url: None,
        credentials: None,
    }
}

/// A real xlsx file: strings are written as text cells, numbers as number cells, null skipped.
fn xlsx(rows: &[Value]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.as_array().unwrap().iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                Value::String(s) => {
                    ws.write_string(r, c, s).unwrap();
                }
                Value::Number(n) => {
                    ws.write_number(r, c, n.as_f64().unwrap()).unwrap();
                }
                _ => {}
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

async fn order_count(app: &App, actor: &Actor) -> usize {
    app.orders(
        actor,
        &OrderQuery {
            limit: Some(500),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items
    .len()
}

fn row(report: &ImportReport, number: u32) -> &fahuo_app::import::RowReport {
    report
        .rows
        .iter()
        .find(|r| r.row == number)
        .unwrap_or_else(|| panic!("row {number} in {:#?}", report.rows))
}

/// A shop's order file as a merchant keeps it: three orders, one with two lines whose second
/// row leaves the receiver blank (merged cells), money typed three ways, the phone typed as a
/// number, a column fahuo does not read, and a title row above the headers.
fn orders_xlsx() -> Vec<u8> {
    xlsx(&[
        json!(["线下订单 2026年11月"]),
        json!([
            "订单编号",
            "收货人",
            "联系电话",
            "省份",
            "城市",
            "区(县)",
            "详细地址",
            "商品名称",
            "规格",
            "商家编码",
            "数量",
            "单价(元)",
            "实付金额",
            "运费",
            "买家留言",
            "卖家备注",
            "最晚发货时间",
            "下单时间"
        ]),
        json!([
            "WX-1001",
            "张三",
            13812345678u64,
            "浙江省",
            "杭州市",
            "西湖区",
            "文三路90号",
            "纯棉T恤",
            "白色 L",
            "TEE-01",
            2,
            "¥49.50",
            "99",
            0,
            "请尽快发货",
            "送小样",
            "2026-11-22 18:00",
            "2026-11-19"
        ]),
        json!([
            "WX-1001",
            null,
            null,
            null,
            null,
            null,
            null,
            "马克杯",
            null,
            "MUG",
            1,
            39,
            "39.00",
            null,
            null,
            null,
            null,
            null
        ]),
        json!([
            "WX-1002",
            "李四",
            "021-64581234-8",
            "上海市",
            "上海市",
            "徐汇区",
            "虹漕路461号",
            "羊毛大衣",
            null,
            null,
            1,
            "1,299.00",
            null,
            "12.5",
            null,
            null,
            null,
            null
        ]),
        json!([
            "WX-1003",
            "王五",
            "13900001111",
            "广东省",
            "深圳市",
            "南山区",
            "科技园南区1栋",
            "帆布包",
            null,
            null,
            3,
            19.9,
            null,
            null,
            null,
            null,
            null,
            null
        ]),
    ])
}

both_backends!(
    a_clean_file_previews_then_commits_once,
    csv_in_gbk_and_utf8_bom_with_a_full_address_column,
    each_bad_row_is_reported_and_the_rest_can_be_imported,
    an_unreadable_file_is_one_error_and_stores_nothing,
    imports_go_only_into_ones_own_manual_shop,
);

async fn a_clean_file_previews_then_commits_once(db: TestDb) {
    let app = app_on(&db);
    let (actor, shop) = merchant(&app, "商家A").await;
    let file = orders_xlsx();

    let preview = app.preview_import(&actor, shop, &file).await.unwrap();
    assert_eq!(preview.mode, "preview");
    assert!(!preview.committed);
    assert_eq!(preview.format, FileFormat::Xlsx);
    assert_eq!(preview.header_row, 2, "the title row above is skipped");
    assert_eq!(preview.ignored_columns, vec!["下单时间".to_string()]);
    assert!(
        preview
            .columns
            .iter()
            .any(|c| c.header == "单价(元)" && c.field == Field::UnitPrice)
    );
    let s = &preview.summary;
    assert_eq!(
        (
            s.rows,
            s.rows_ok,
            s.rows_failed,
            s.orders,
            s.ok,
            s.failed,
            s.duplicates,
            s.created
        ),
        (4, 4, 0, 3, 3, 0, 0, 0),
        "{:#?}",
        preview.rows
    );
    assert_eq!(preview.orders[0].rows, vec![3, 4], "Excel row numbers");
    assert_eq!(preview.orders[0].lines, 2);
    assert_eq!(
        preview.orders[0].paid_total_fen,
        Some(Fen(9900 + 3900)),
        "lines' paid amounts plus freight 0"
    );
    let r = preview.orders[0].receiver.as_ref().unwrap();
    assert_eq!((r.name.as_str(), r.phone.as_str()), ("张*", "138****5678"));
    assert_eq!(
        order_count(&app, &actor).await,
        0,
        "a preview stores nothing"
    );

    let commit = app.commit_import(&actor, shop, &file, false).await.unwrap();
    assert!(commit.committed);
    assert_eq!(commit.summary.created, 3);
    assert!(
        commit
            .orders
            .iter()
            .all(|o| o.status == OrderStatus::Created)
    );
    assert_eq!(order_count(&app, &actor).await, 3);

    let id = |no: &str| -> OrderId {
        commit
            .orders
            .iter()
            .find(|o| o.platform_order_id == no)
            .and_then(|o| o.order_id)
            .unwrap()
    };
    let first = app.order(&actor, id("WX-1001")).await.unwrap();
    assert_eq!(first.lines.len(), 2);
    assert_eq!(
        first.lines[0].title, "纯棉T恤 白色 L",
        "the spec joins the title"
    );
    assert_eq!(first.lines[0].sku_code.as_ref().unwrap().as_str(), "TEE-01");
    assert_eq!(
        (
            first.lines[0].quantity,
            first.lines[0].unit_price,
            first.lines[0].paid
        ),
        (2, Fen(4950), Fen(9900))
    );
    assert_eq!(first.lines[1].unit_price, Fen(3900));
    assert_eq!(first.buyer_note.as_deref(), Some("请尽快发货"));
    assert_eq!(first.seller_note.as_deref(), Some("送小样"));
    assert_eq!(
        first.ship_by.unwrap().to_rfc3339(),
        "2026-11-22T10:00:00+00:00",
        "Beijing time"
    );
    let receiver = app.reveal_receiver(&actor, id("WX-1001")).await.unwrap();
    assert_eq!(
        receiver.phone.as_str(),
        "13812345678",
        "a phone typed as a number"
    );
    assert_eq!(receiver.county, "西湖区");
    let second = app.order(&actor, id("WX-1002")).await.unwrap();
    assert_eq!(second.lines[0].unit_price, Fen(129900));
    assert_eq!(second.freight_fen, Fen(1250));
    assert_eq!(second.paid_total_fen, Fen(129900 + 1250));
    let third = app.order(&actor, id("WX-1003")).await.unwrap();
    assert_eq!(
        (third.lines[0].unit_price, third.lines[0].paid),
        (Fen(1990), Fen(5970)),
        "a number cell 19.9 is 19.90 yuan exactly"
    );

    let audit = app
        .audit_log(
            &actor,
            &AuditFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .items
        .iter()
        .map(|a| a.entry.action.as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "order.created").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(actions.iter().filter(|a| **a == "order.import").count(), 1);

    // The same file again: nothing new, every order reported as already imported.
    let again = app.commit_import(&actor, shop, &file, false).await.unwrap();
    assert_eq!((again.summary.created, again.summary.duplicates), (0, 3));
    assert!(
        again
            .orders
            .iter()
            .all(|o| o.status == OrderStatus::AlreadyImported)
    );
    assert_eq!(order_count(&app, &actor).await, 3);
    let preview = app.preview_import(&actor, shop, &file).await.unwrap();
    assert_eq!((preview.summary.ok, preview.summary.duplicates), (0, 3));
}

async fn csv_in_gbk_and_utf8_bom_with_a_full_address_column(db: TestDb) {
    let app = app_on(&db);
    let (actor, shop) = merchant(&app, "商家A").await;

    // Excel on Chinese Windows: GBK, CRLF, a full address holding name and phone too.
    let file = gbk("订单号,收货地址,商品,数量,实付\r\n\
         G-1,张三 13812345678 浙江杭州西湖区文三路90号,马克杯,2,78\r\n\
         G-2,\"李四，13900001111，广东省深圳市南山区科技园南区1栋\",帆布包,1,￥19.90\r\n");
    let report = app.preview_import(&actor, shop, &file).await.unwrap();
    assert_eq!(report.encoding, Some("gb18030"));
    assert!(report.address_parsed);
    assert_eq!(report.summary.ok, 2, "{:#?}", report.rows);
    let r = report.orders[0].receiver.as_ref().unwrap();
    assert_eq!(
        (r.province.as_str(), r.city.as_str(), r.county.as_str()),
        ("浙江省", "杭州市", "西湖区")
    );
    let commit = app.commit_import(&actor, shop, &file, true).await.unwrap();
    assert_eq!(commit.summary.created, 2);
    let id = commit.orders[1].order_id.unwrap();
    let receiver = app.reveal_receiver(&actor, id).await.unwrap();
    assert_eq!(receiver.name, "李四");
    assert_eq!(receiver.phone.as_str(), "13900001111");
    assert_eq!(receiver.city, "深圳市");
    assert!(
        receiver.detail.contains("科技园南区1栋"),
        "{}",
        receiver.detail
    );
    let order = app.order(&actor, id).await.unwrap();
    assert_eq!(
        (order.lines[0].unit_price, order.lines[0].paid),
        (Fen(1990), Fen(1990)),
        "without a unit price, the paid amount of one piece gives it"
    );

    // UTF-8 with a BOM and English headers, as scripts and Numbers/LibreOffice write it.
    let mut file = b"\xEF\xBB\xBF".to_vec();
    file.extend_from_slice(
        "Order No,Receiver,Phone,Province,City,District,Detail,Product,SKU,Qty,Price\n\
         E-1,Zhang San,13812345678,北京市,北京市,朝阳区,建国路1号,Mug,MUG,1,39\n"
            .as_bytes(),
    );
    let report = app.preview_import(&actor, shop, &file).await.unwrap();
    assert_eq!(report.encoding, Some("utf-8-bom"));
    assert_eq!(report.summary.ok, 1, "{:#?}", report.rows);
    assert!(report.columns.iter().any(|c| c.header == "Order No"));
}

async fn each_bad_row_is_reported_and_the_rest_can_be_imported(db: TestDb) {
    let app = app_on(&db);
    let (actor, shop) = merchant(&app, "商家A").await;
    let file = "订单号,收件人,手机,省,市,区,详细地址,商品名称,数量,单价,运费,最晚发货时间\n\
        OK-1,张三,13812345678,浙江省,杭州市,西湖区,文三路90号,马克杯,1,39,,\n\
        BAD-PHONE,李四,12345,浙江省,杭州市,西湖区,文三路1号,马克杯,1,39,,\n\
        BAD-QTY,王五,13900001111,浙江省,杭州市,西湖区,文三路2号,马克杯,两件,39,,\n\
        BAD-MONEY,赵六,13900002222,浙江省,杭州市,西湖区,文三路3号,马克杯,1,12.345,,\n\
        CONFLICT,钱七,13900003333,浙江省,杭州市,西湖区,文三路4号,马克杯,1,39,,\n\
        CONFLICT,孙八,13900003333,浙江省,杭州市,西湖区,文三路4号,帆布包,1,19,,\n\
        BAD-DATE,周九,13900004444,浙江省,杭州市,西湖区,文三路5号,马克杯,1,39,,下周二\n\
        BAD-FREIGHT,吴十,13900005555,浙江省,杭州市,西湖区,文三路6号,马克杯,1,39,免运费,\n\
        NO-TITLE,郑一,13900006666,浙江省,杭州市,西湖区,文三路7号,,1,39,,\n\
        6.921E+18,冯二,13900007777,浙江省,杭州市,西湖区,文三路8号,马克杯,1,39,,\n\
        OK-2,陈三,13900008888,浙江省,杭州市,西湖区,文三路9号,马克杯,1,39,,\n\
        ,,,,,,,围巾,1,59,,\n"
        .as_bytes();
    let report = app.preview_import(&actor, shop, file).await.unwrap();
    let expect = [
        (3, "手机", Field::Phone),
        (4, "数量", Field::Quantity),
        (5, "单价", Field::UnitPrice),
        (7, "收件人", Field::ReceiverName),
        (8, "最晚发货时间", Field::ShipBy),
        (9, "运费", Field::Freight),
        (10, "商品名称", Field::Title),
        (11, "订单号", Field::OrderNo),
    ];
    for (number, column, field) in expect {
        let r = row(&report, number);
        assert!(!r.ok, "row {number} fails");
        let e = &r.errors[0];
        assert_eq!(
            (e.column.as_deref(), e.field),
            (Some(column), Some(field)),
            "row {number}: {:?}",
            r.errors
        );
        assert!(
            !e.message.is_empty() && e.message_zh.chars().any(|c| c > '\u{2e80}'),
            "row {number}: an English and a Chinese message: {e:?}"
        );
    }
    assert!(row(&report, 7).errors[0].message_zh.contains("第 6 行"));
    assert!(row(&report, 11).errors[0].message_zh.contains("科学计数法"));
    // The last row has no order number: it continues OK-2 from the row above, with a warning.
    let merged = row(&report, 13);
    assert!(merged.ok && merged.order_no.as_deref() == Some("OK-2"));
    assert_eq!(merged.warnings.len(), 1);
    assert!(
        row(&report, 6).ok,
        "the first row of the conflicting order is fine"
    );
    let s = &report.summary;
    assert_eq!(
        (s.rows, s.rows_failed, s.orders, s.ok, s.failed),
        (12, 8, 10, 2, 8),
        "{:#?}",
        report.rows
    );
    let conflict = report
        .orders
        .iter()
        .find(|o| o.platform_order_id == "CONFLICT")
        .unwrap();
    assert_eq!(
        conflict.status,
        OrderStatus::Invalid,
        "all or nothing per order"
    );

    // Only when clean: nothing is stored.
    let refused = app.commit_import(&actor, shop, file, true).await.unwrap();
    assert!(!refused.committed);
    assert_eq!(refused.summary.created, 0);
    assert!(
        refused
            .orders
            .iter()
            .all(|o| matches!(o.status, OrderStatus::Skipped | OrderStatus::Invalid))
    );
    assert_eq!(order_count(&app, &actor).await, 0);

    // Otherwise the valid orders go in and the error rows come back.
    let partial = app.commit_import(&actor, shop, file, false).await.unwrap();
    assert_eq!(partial.summary.created, 2);
    assert_eq!(partial.summary.rows_failed, 8);
    assert_eq!(order_count(&app, &actor).await, 2);
    let ok2 = partial
        .orders
        .iter()
        .find(|o| o.platform_order_id == "OK-2")
        .unwrap();
    assert_eq!(
        app.order(&actor, ok2.order_id.unwrap())
            .await
            .unwrap()
            .lines
            .len(),
        2
    );
}

async fn an_unreadable_file_is_one_error_and_stores_nothing(db: TestDb) {
    let app = app_on(&db);
    let (actor, shop) = merchant(&app, "商家A").await;
    let mut truncated = orders_xlsx();
    truncated.truncate(truncated.len() / 2);
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty_file"),
        ("blank lines", b"\r\n\r\n  \n".to_vec(), "empty_file"),
        (
            "header only",
            "订单号,收件人,手机,省,详细地址,商品名称,数量\n".into(),
            "no_data_rows",
        ),
        (
            "columns missing",
            "订单号,收件人,商品名称\nA,张三,杯子\n".into(),
            "missing_columns",
        ),
        (
            "wrong delimiter",
            "订单号|收件人|手机|商品名称|数量\nA|张三|13812345678|杯子|1\n".into(),
            "missing_columns",
        ),
        ("truncated xlsx", truncated, "unreadable_xlsx"),
        ("random bytes", random, "unreadable_file"),
        (
            "legacy xls",
            [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0].to_vec(),
            "unreadable_xlsx",
        ),
    ];
    for (what, bytes, code) in cases {
        for commit in [false, true] {
            let result = if commit {
                app.commit_import(&actor, shop, &bytes, false).await
            } else {
                app.preview_import(&actor, shop, &bytes).await
            };
            match result {
                Err(AppError::Import(e)) => {
                    assert_eq!(e.code(), code, "{what}: {e}");
                    assert!(!e.message_zh().is_empty());
                }
                other => panic!("{what}: expected an import error, got {other:?}"),
            }
        }
    }
    match app
        .preview_import(
            &actor,
            shop,
            "订单号,收件人,商品名称\nA,张三,杯子\n".as_bytes(),
        )
        .await
    {
        Err(AppError::Import(ImportError::MissingColumns { missing, .. })) => {
            assert!(missing.contains(&"数量".to_string()), "{missing:?}");
            assert!(
                missing.contains(&"手机".to_string())
                    || missing.iter().any(|m| m.contains("收货地址")),
                "{missing:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(order_count(&app, &actor).await, 0);
}

async fn imports_go_only_into_ones_own_manual_shop(db: TestDb) {
    let app = app_on(&db);
    let (a, shop_a) = merchant(&app, "商家A").await;
    let (b, _) = merchant(&app, "商家B").await;
    let file = orders_xlsx();
    assert!(matches!(
        app.preview_import(&b, shop_a, &file).await,
        Err(AppError::NotFound)
    ));
    assert!(matches!(
        app.commit_import(&b, shop_a, &file, false).await,
        Err(AppError::NotFound)
    ));
    let douyin = app
        .create_shop(&a, &shop_input("douyin", "dy-1"))
        .await
        .unwrap();
    assert!(matches!(
        app.commit_import(&a, douyin.id.get(), &file, false).await,
        Err(AppError::Conflict(_))
    ));
    let viewer = Actor {
        role: Role::Viewer,
        user_id: None,
        name: "viewer".into(),
        via: Via::Session,
        ..a.clone()
    };
    assert!(matches!(
        app.preview_import(&viewer, shop_a, &file).await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        app.import_template(&viewer),
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(order_count(&app, &a).await, 0);
    assert_eq!(order_count(&app, &b).await, 0);
}

// ---- The parser alone (no database) ----

#[test]
fn the_template_is_an_xlsx_whose_example_imports_cleanly() {
    use calamine::{Reader, Xlsx};
    let bytes = template_xlsx().unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let range = wb.worksheet_range("订单").unwrap();
    let headers: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        headers,
        [
            "订单号",
            "收件人",
            "手机",
            "省",
            "市",
            "区(县)",
            "详细地址",
            "商品名称",
            "规格",
            "商家编码",
            "数量",
            "单价",
            "实付",
            "运费",
            "买家留言",
            "卖家备注",
            "最晚发货时间"
        ]
    );
    let parsed = parse_file(&bytes, 1, now(), &Limits::default()).unwrap();
    assert!(parsed.rows.iter().all(|r| r.ok), "{:#?}", parsed.rows);
    assert_eq!(parsed.orders.len(), 1);
    let order = parsed.orders[0].order.as_ref().unwrap();
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.paid_total, Fen(9900 + 3900));
}

#[test]
fn limits_on_size_and_rows_are_clear_errors() {
    let limits = Limits {
        max_bytes: 1000,
        max_rows: 5,
        ..Limits::default()
    };
    let big = vec![b'a'; 1001];
    assert_eq!(
        parse_file(&big, 1, now(), &limits).unwrap_err(),
        ImportError::TooLarge { max_bytes: 1000 }
    );
    let mut many = String::from("订单号,收件人,手机,省,详细地址,商品名称,数量\n");
    for i in 0..7 {
        many.push_str(&format!("N{i},张三,13812345678,浙江省,文三路90号,杯子,1\n"));
    }
    assert_eq!(
        parse_file(many.as_bytes(), 1, now(), &limits).unwrap_err(),
        ImportError::TooManyRows { max_rows: 5 }
    );
    let rows: Vec<Value> = std::iter::once(json!([
        "订单号",
        "收件人",
        "手机",
        "省",
        "详细地址",
        "商品名称",
        "数量"
    ]))
    .chain((0..7).map(|i| {
        json!([
            format!("N{i}"),
            "张三",
            "13812345678",
            "浙江省",
            "文三路90号",
            "杯子",
            1
        ])
    }))
    .collect();
    assert_eq!(
        parse_file(
            &xlsx(&rows),
            1,
            now(),
            &Limits {
                max_bytes: 1 << 20,
                ..limits.clone()
            }
        )
        .unwrap_err(),
        ImportError::TooManyRows { max_rows: 5 }
    );
    // Exactly at the limit is fine, one more row is not.
    let header = "订单号,收件人,手机,省,详细地址,商品名称,数量\n";
    let at_limit: String = std::iter::once(header.to_string())
        .chain((0..5).map(|i| format!("N{i},张三,13812345678,浙江省,文三路90号,杯子,1\n")))
        .collect();
    assert_eq!(
        parse_file(at_limit.as_bytes(), 1, now(), &limits)
            .unwrap()
            .orders
            .len(),
        5
    );
    let over = format!("{at_limit}N5,张三,13812345678,浙江省,文三路90号,杯子,1\n");
    assert_eq!(
        parse_file(over.as_bytes(), 1, now(), &limits).unwrap_err(),
        ImportError::TooManyRows { max_rows: 5 }
    );
    // The default limits: 10 MB and 20,000 rows.
    let defaults = Limits::default();
    assert_eq!(
        (defaults.max_bytes, defaults.max_rows),
        (10 * 1024 * 1024, 20_000)
    );
}

#[test]
fn a_tab_delimited_utf16_file_from_excel_is_read() {
    // Excel's "Unicode text" (Unicode 文本): UTF-16LE with a BOM, tab-delimited.
    let text = "订单号\t收件人\t手机\t省\t市\t区\t详细地址\t商品名称\t数量\n\
                T-1\t张三\t13812345678\t浙江省\t杭州市\t西湖区\t文三路90号\t杯子\t1\n";
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let parsed = parse_file(&bytes, 1, now(), &Limits::default()).unwrap();
    assert_eq!(parsed.encoding, Some("utf-16le"));
    assert!(parsed.orders[0].order.is_some(), "{:#?}", parsed.rows);
}

//! Inventory as merchants use it: transfers, thresholds and alerts, the stock export, and the
//! stock count import (盘点导入) with every verdict and every kind of unreadable file. Tests
//! that touch the store run on SQLite and PostgreSQL; the file checks need no database.

use calamine::{Data, Reader, Xlsx};
use chrono::{TimeZone, Utc};
use fahuo_app::catalog::{SkuInput, StockMovementInput, WarehouseInput};
use fahuo_app::import::{FileFormat, ImportError, Limits};
use fahuo_app::inventory::count::parse_count_file;
use fahuo_app::inventory::{
    CountVerdict, EXPORT_HEADERS, SafetyInput, StockCountReport, ThresholdInput, TransferInput,
};
use fahuo_app::{Actor, App, AppError, ManualClock, Settings};
use fahuo_domain::stock::{MovementKind, StockMovement};
use fahuo_domain::{Name, OrderId, Role, SkuId, WarehouseId};
use fahuo_store::audit::AuditFilter;
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use std::io::{Cursor, Write};
use std::sync::Arc;

fn app_on(db: &TestDb) -> App {
    App::new(
        db.store.clone(),
        Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap(),
        )),
        Settings::default(),
    )
}

/// A merchant with warehouses HZ01 and GZ01 and SKUs MUG, TEE and 00123 (a code Excel would
/// turn into the number 123).
struct Merchant {
    actor: Actor,
    hz: WarehouseId,
    gz: WarehouseId,
    mug: SkuId,
    tee: SkuId,
    zeros: SkuId,
}

async fn merchant(app: &App, name: &str) -> Merchant {
    let tenant = app
        .create_tenant(&Name::parse(name).unwrap())
        .await
        .unwrap();
    let actor = Actor::cli(tenant.id);
    let mut warehouses = Vec::new();
    for (code, name) in [("HZ01", "杭州仓"), ("GZ01", "广州仓")] {
        let w = app
            .create_warehouse(
                &actor,
                &WarehouseInput {
                    code: code.into(),
                    name: name.into(),
                    province: "浙江省".into(),
                    city: "杭州市".into(),
                    county: "余杭区".into(),
                    address: "仓前街道1号".into(),
                    lat: None,
                    lng: None,
                },
            )
            .await
            .unwrap();
        warehouses.push(w.id);
    }
    let mut skus = Vec::new();
    for (code, name, barcode) in [
        ("MUG", "马克杯", Some("6901234567892")),
        ("TEE", "纯棉T恤", None),
        ("00123", "帆布包", None),
    ] {
        let s = app
            .create_sku(
                &actor,
                &SkuInput {
                    code: code.into(),
                    name: name.into(),
                    barcode: barcode.map(String::from),
                    weight_g: 300,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: 0,
                },
            )
            .await
            .unwrap();
        skus.push(s.id);
    }
    Merchant {
        actor,
        hz: warehouses[0],
        gz: warehouses[1],
        mug: skus[0],
        tee: skus[1],
        zeros: skus[2],
    }
}

async fn inbound(app: &App, m: &Merchant, w: WarehouseId, s: SkuId, q: i64) {
    app.move_stock(
        &m.actor,
        &StockMovementInput {
            warehouse_id: w.get(),
            sku_id: s.get(),
            kind: "inbound".into(),
            quantity: q,
            note: None,
        },
    )
    .await
    .unwrap();
}

/// Reservations are made by allocation, not by hand: straight to the store.
async fn reserve(app: &App, m: &Merchant, w: WarehouseId, s: SkuId, q: i64) {
    let r = StockMovement::new(w, s, MovementKind::Reserve, q)
        .unwrap()
        .for_order(OrderId(1));
    app.store()
        .move_stock(m.actor.tenant_id, &r, "allocation", app.now())
        .await
        .unwrap();
}

async fn on_hand(app: &App, m: &Merchant, w: WarehouseId, s: SkuId) -> (i64, i64) {
    app.stock_levels(&m.actor, Some(s))
        .await
        .unwrap()
        .iter()
        .find(|l| l.warehouse_id == w)
        .map(|l| (l.on_hand, l.reserved))
        .unwrap_or_default()
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

fn verdicts(r: &StockCountReport) -> Vec<(u32, CountVerdict)> {
    r.rows.iter().map(|row| (row.row, row.verdict)).collect()
}

both_backends!(
    transfers_take_only_available_stock_and_are_audited,
    thresholds_and_safety_feed_the_alerts,
    the_export_reads_back_as_an_unchanged_count,
    a_count_previews_every_verdict_then_applies_under_the_row_lock,
);

async fn transfers_take_only_available_stock_and_are_audited(db: TestDb) {
    let app = app_on(&db);
    let m = merchant(&app, "商家A").await;
    let b = merchant(&app, "商家B").await;
    inbound(&app, &m, m.hz, m.mug, 10).await;
    reserve(&app, &m, m.hz, m.mug, 3).await;
    app.set_safety_stock(
        &m.actor,
        &SafetyInput {
            warehouse_id: m.hz.get(),
            sku_id: m.mug.get(),
            safety: 2,
        },
    )
    .await
    .unwrap();
    let transfer = |units, to: WarehouseId| TransferInput {
        from_warehouse_id: m.hz.get(),
        to_warehouse_id: to.get(),
        sku_id: m.mug.get(),
        units,
        note: Some("  广州仓补货  ".into()),
    };

    let short = app.transfer_stock(&m.actor, &transfer(6, m.gz)).await;
    match short {
        Err(AppError::InsufficientStock(msg)) => assert!(
            msg.contains("has 5 available") && msg.contains("on hand 10"),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }
    let levels = app
        .transfer_stock(&m.actor, &transfer(5, m.gz))
        .await
        .unwrap();
    assert_eq!((levels.from.on_hand, levels.to.on_hand), (5, 5));
    assert_eq!(on_hand(&app, &m, m.gz, m.mug).await, (5, 0));
    let ledger = app.stock_ledger(&m.actor, m.gz, m.mug).await.unwrap();
    assert_eq!(ledger[0].note.as_deref(), Some("广州仓补货"));

    // Bad input is refused before the store; other tenants' warehouses are not found.
    assert!(matches!(
        app.transfer_stock(&m.actor, &transfer(1, m.hz)).await,
        Err(AppError::Invalid(e)) if e.field == "to_warehouse_id"
    ));
    assert!(matches!(
        app.transfer_stock(&m.actor, &transfer(0, m.gz)).await,
        Err(AppError::Invalid(e)) if e.field == "units"
    ));
    assert!(matches!(
        app.transfer_stock(&m.actor, &transfer(1, b.hz)).await,
        Err(AppError::NotFound)
    ));
    assert!(matches!(
        app.transfer_stock(&b.actor, &transfer(1, m.gz)).await,
        Err(AppError::NotFound)
    ));
    let viewer = Actor {
        role: Role::Viewer,
        ..m.actor.clone()
    };
    assert!(matches!(
        app.transfer_stock(&viewer, &transfer(1, m.gz)).await,
        Err(AppError::Forbidden(_))
    ));
    let audit = app
        .audit_log(
            &m.actor,
            &AuditFilter {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .items
        .iter()
        .map(|r| r.entry.action.as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "stock.transfer").count(),
        1,
        "only the transfer that happened is audited: {actions:?}"
    );
    assert!(actions.contains(&"stock.safety"));
}

async fn thresholds_and_safety_feed_the_alerts(db: TestDb) {
    let app = app_on(&db);
    let m = merchant(&app, "商家A").await;
    let b = merchant(&app, "商家B").await;
    inbound(&app, &m, m.hz, m.mug, 4).await;
    inbound(&app, &m, m.gz, m.tee, 20).await;
    let threshold = |w: WarehouseId, s: SkuId, t| ThresholdInput {
        warehouse_id: w.get(),
        sku_id: s.get(),
        threshold: t,
    };
    app.set_low_stock_threshold(&m.actor, &threshold(m.hz, m.mug, 5))
        .await
        .unwrap();
    app.set_low_stock_threshold(&m.actor, &threshold(m.gz, m.tee, 5))
        .await
        .unwrap();
    let alerts = app.low_stock_alerts(&m.actor).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (
            alerts[0].warehouse_code.as_str(),
            alerts[0].sku_code.as_str(),
            alerts[0].available
        ),
        ("HZ01", "MUG", 4)
    );
    // Safety stock lowers what is available: 20 - 16 = 4 ≤ 5.
    app.set_safety_stock(
        &m.actor,
        &SafetyInput {
            warehouse_id: m.gz.get(),
            sku_id: m.tee.get(),
            safety: 16,
        },
    )
    .await
    .unwrap();
    let alerts = app.low_stock_alerts(&m.actor).await.unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].safety + alerts[1].safety, 16);

    assert!(matches!(
        app.set_low_stock_threshold(&m.actor, &threshold(m.hz, m.mug, -1))
            .await,
        Err(AppError::Invalid(e)) if e.field == "threshold"
    ));
    assert!(matches!(
        app.set_low_stock_threshold(&b.actor, &threshold(m.hz, m.mug, 1))
            .await,
        Err(AppError::NotFound)
    ));
    assert!(app.low_stock_alerts(&b.actor).await.unwrap().is_empty());
    let viewer = Actor {
        role: Role::Viewer,
        ..m.actor.clone()
    };
    assert_eq!(app.low_stock_alerts(&viewer).await.unwrap().len(), 2);
    assert!(matches!(
        app.set_low_stock_threshold(&viewer, &threshold(m.hz, m.mug, 1))
            .await,
        Err(AppError::Forbidden(_))
    ));
}

/// The cells of the first sheet of an xlsx file, as text; numbers marked with a leading '#'.
fn read_xlsx(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => format!("#{f}"),
                    Data::Int(i) => format!("#{i}"),
                    Data::Empty => String::new(),
                    other => format!("?{other:?}"),
                })
                .collect()
        })
        .collect()
}

async fn the_export_reads_back_as_an_unchanged_count(db: TestDb) {
    let app = app_on(&db);
    let m = merchant(&app, "商家A").await;
    let b = merchant(&app, "商家B").await;
    inbound(&app, &m, m.hz, m.mug, 12).await;
    reserve(&app, &m, m.hz, m.mug, 2).await;
    inbound(&app, &m, m.gz, m.zeros, 7).await;
    app.set_stock_bin(&m.actor, m.hz, m.mug, Some("A-03-2"))
        .await
        .unwrap();
    app.set_low_stock_threshold(
        &m.actor,
        &ThresholdInput {
            warehouse_id: m.hz.get(),
            sku_id: m.mug.get(),
            threshold: 3,
        },
    )
    .await
    .unwrap();
    let bytes = app.export_stock(&m.actor).await.unwrap();
    let cells = read_xlsx(&bytes);
    assert_eq!(cells[0], EXPORT_HEADERS);
    assert_eq!(
        cells[1],
        [
            "GZ01",
            "广州仓",
            "00123",
            "帆布包",
            "",
            "",
            "#7",
            "#0",
            "#0",
            "#7",
            "#0"
        ],
        "codes stay text: 00123 is not 123"
    );
    assert_eq!(
        cells[2],
        [
            "HZ01",
            "杭州仓",
            "MUG",
            "马克杯",
            "6901234567892",
            "A-03-2",
            "#12",
            "#2",
            "#0",
            "#10",
            "#3"
        ]
    );
    assert_eq!(cells.len(), 3);
    let other = read_xlsx(&app.export_stock(&b.actor).await.unwrap());
    assert_eq!(other.len(), 1, "B's export has only the headers");

    // The export itself is a count of what is there: nothing to change.
    let report = app
        .import_stock_count(&m.actor, &bytes, false)
        .await
        .unwrap();
    assert_eq!(report.count_column, "在库");
    assert_eq!(report.format, FileFormat::Xlsx);
    assert_eq!(
        verdicts(&report),
        [(2, CountVerdict::Unchanged), (3, CountVerdict::Unchanged)]
    );
    // Applying it changes nothing either.
    let report = app
        .import_stock_count(&m.actor, &bytes, true)
        .await
        .unwrap();
    assert_eq!(report.summary.changes, 0);
    assert_eq!(
        app.stock_ledger(&m.actor, m.hz, m.mug).await.unwrap().len(),
        2
    );
}

async fn a_count_previews_every_verdict_then_applies_under_the_row_lock(db: TestDb) {
    let app = app_on(&db);
    let m = merchant(&app, "商家A").await;
    let b = merchant(&app, "商家B").await;
    inbound(&app, &m, m.hz, m.mug, 10).await;
    inbound(&app, &m, m.hz, m.tee, 8).await;
    reserve(&app, &m, m.hz, m.tee, 3).await;
    inbound(&app, &m, m.gz, m.mug, 5).await;
    reserve(&app, &m, m.gz, m.mug, 5).await;
    let file = gbk("仓库编码,商品编码,盘点数量,安全库存,预警阈值,库位\r\n\
         HZ01,MUG,12.0,,,\r\n\
         HZ01,TEE,4,1,2,B-1\r\n\
         GZ01,MUG,5,,,\r\n\
         SH01,MUG,1,,,\r\n\
         HZ01,NOPE,1,,,\r\n\
         GZ01,TEE,12.5,,,\r\n\
         GZ01,00123,-3,,,\r\n\
         GZ01,00123,十,,,\r\n\
         GZ01,MUG,4,,,\r\n\
         HZ01,MUG,9,,,\r\n\
         ,MUG,1,,,\r\n\
         GZ01,00123,,,,\r\n\
         GZ01,00123,6,1.5,,\r\n\
         \r\n\
         GZ01,00123,6,,,\r\n");
    let stock_before = app.stock_levels(&m.actor, None).await.unwrap();
    let preview = app
        .import_stock_count(&m.actor, &file, false)
        .await
        .unwrap();
    assert_eq!(preview.encoding, Some("gb18030"));
    assert_eq!(preview.mode, "preview");
    use CountVerdict::*;
    assert_eq!(
        verdicts(&preview),
        [
            (2, Ok),
            (3, Ok),
            (4, Unchanged),
            (5, UnknownWarehouse),
            (6, UnknownSku),
            (7, NotWholeNumber),
            (8, Negative),
            (9, NotWholeNumber),
            (10, Duplicate),
            (11, Duplicate),
            (12, MissingValue),
            (13, MissingValue),
            (14, NotWholeNumber),
            // Row 15 is blank; row 16 is the first 00123 count that reads.
            (16, Duplicate),
        ]
    );
    let row = |r: &StockCountReport, n: u32| r.rows.iter().find(|x| x.row == n).unwrap().clone();
    let mug = row(&preview, 2);
    assert_eq!(
        (mug.counted, mug.on_hand, mug.delta, mug.message_zh.as_str()),
        (Some(12), Some(10), Some(2), "在库将由 10 调整为 12（+2）")
    );
    let tee = row(&preview, 3);
    assert_eq!(
        (tee.delta, tee.safety, tee.bin.as_deref()),
        (Some(-4), Some(1), Some("B-1"))
    );
    let dup = row(&preview, 10);
    assert!(dup.message_zh.contains("第 4 行"), "{}", dup.message_zh);
    let neg = row(&preview, 8);
    assert_eq!(neg.column.as_deref(), Some("盘点数量"));
    assert!(neg.message_zh.contains("不能为负数"), "{}", neg.message_zh);
    let safety = row(&preview, 14);
    assert_eq!(safety.column.as_deref(), Some("安全库存"));
    assert_eq!(
        (
            preview.summary.changes,
            preview.summary.unchanged,
            preview.summary.refused
        ),
        (2, 1, 11)
    );
    assert_eq!(
        (preview.summary.units_added, preview.summary.units_removed),
        (2, 4)
    );
    assert_eq!(
        app.stock_levels(&m.actor, None).await.unwrap(),
        stock_before,
        "a preview stores nothing"
    );

    // Between preview and apply an order reserves 2 more TEE: counting 4 would now leave
    // fewer than the 5 reserved, so that row is refused at apply and changes nothing.
    reserve(&app, &m, m.hz, m.tee, 2).await;
    let applied = app.import_stock_count(&m.actor, &file, true).await.unwrap();
    assert!(applied.applied);
    let tee = row(&applied, 3);
    assert_eq!(
        (tee.verdict, tee.on_hand, tee.reserved),
        (BelowReserved, Some(8), Some(5))
    );
    assert!(tee.message_zh.contains("小于预占 5"), "{}", tee.message_zh);
    let mug = row(&applied, 2);
    assert_eq!((mug.verdict, mug.delta), (Applied, Some(2)));
    assert_eq!(row(&applied, 4).verdict, Unchanged);
    assert_eq!(applied.summary.changes, 1);
    assert_eq!(on_hand(&app, &m, m.hz, m.mug).await, (12, 0));
    assert_eq!(on_hand(&app, &m, m.hz, m.tee).await, (8, 5));
    let rows = app.store().stock_rows(m.actor.tenant_id).await.unwrap();
    let tee_row = rows.iter().find(|r| r.sku_id == m.tee).unwrap();
    assert_eq!(
        (
            tee_row.safety,
            tee_row.low_stock_threshold,
            tee_row.bin.as_deref()
        ),
        (0, 0, None),
        "a refused row's settings are not applied either"
    );
    let adjust = app.stock_ledger(&m.actor, m.hz, m.mug).await.unwrap();
    let adjust = adjust.last().unwrap();
    assert_eq!(
        (adjust.kind, adjust.on_hand_delta),
        (MovementKind::Adjust, 2)
    );
    let checks = app
        .store()
        .check_stock_ledger(m.actor.tenant_id)
        .await
        .unwrap();
    assert!(checks.iter().all(|c| c.consistent()));
    let audit = app
        .audit_log(
            &m.actor,
            &AuditFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audit.items[0].entry.action, "stock.count_import");

    // B has warehouses and SKUs with the same codes: its import counts its own rows only.
    let report = app.import_stock_count(&b.actor, &file, true).await.unwrap();
    assert_eq!(row(&report, 2).on_hand, Some(0));
    assert_eq!(
        on_hand(&app, &m, m.hz, m.mug).await,
        (12, 0),
        "A's row untouched"
    );
    let viewer = Actor {
        role: Role::Viewer,
        ..m.actor.clone()
    };
    assert!(matches!(
        app.import_stock_count(&viewer, &file, false).await,
        Err(AppError::Forbidden(_))
    ));
}

// ---------------------------------------------------------------- files, no database

fn parse(bytes: &[u8]) -> Result<fahuo_app::inventory::count::CountFile, ImportError> {
    parse_count_file(bytes, &Limits::default())
}

fn zip_with(name: &str, content: &[u8]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(content).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

#[test]
fn unreadable_files_are_refused_whole_with_a_reason_in_both_languages() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty_file"),
        ("whitespace", b" \r\n \n".to_vec(), "empty_file"),
        (
            "a text file renamed .xlsx",
            "这是一个普通的文本文件\n不是表格\n".as_bytes().to_vec(),
            "missing_columns",
        ),
        (
            "a zip that is not xlsx",
            zip_with("readme.txt", b"hello"),
            "unreadable_xlsx",
        ),
        (
            "a legacy .xls",
            vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0],
            "unreadable_xlsx",
        ),
        (
            "binary",
            vec![0, 1, 2, 3, 4, 5, 0xFF, 0xFE],
            "unreadable_file",
        ),
        (
            "header only",
            "仓库编码,商品编码,盘点数量\n".as_bytes().to_vec(),
            "no_data_rows",
        ),
        (
            "no count column",
            "仓库编码,商品编码,商品名称\nHZ01,MUG,马克杯\n"
                .as_bytes()
                .to_vec(),
            "missing_columns",
        ),
    ];
    for (what, bytes, code) in cases {
        let err = parse(&bytes)
            .err()
            .unwrap_or_else(|| panic!("{what} was read"));
        assert_eq!(err.code(), code, "{what}: {err}");
        assert!(!err.message_zh().is_empty() && !err.to_string().is_empty());
    }
    let err = parse("仓库编码,商品编码,商品名称\nHZ01,MUG,马克杯\n".as_bytes()).unwrap_err();
    assert!(
        err.message_zh().contains("盘点数量"),
        "{}",
        err.message_zh()
    );
    assert!(err.to_string().contains("counted quantity"), "{err}");

    let mut big = String::from("仓库编码,商品编码,盘点数量\n");
    for i in 0..20_001 {
        big.push_str(&format!("HZ01,SKU{i},1\n"));
    }
    assert_eq!(
        parse(big.as_bytes()).unwrap_err(),
        ImportError::TooManyRows { max_rows: 20_000 }
    );
}

#[test]
fn csv_in_gbk_and_xlsx_with_formulas_and_blank_rows_are_read() {
    let file = parse(&gbk("仓库编码,商品编码,盘点数量\n杭州01,马克杯,3\n")).unwrap();
    assert_eq!(file.encoding, Some("gb18030"));
    assert_eq!(
        (
            file.rows[0].warehouse_code.as_str(),
            file.rows[0].sku_code.as_str()
        ),
        ("杭州01", "马克杯")
    );

    // An xlsx as Excel saves it: a title row, numbers as number cells, a formula with its
    // cached result, a blank row, and a formula whose result is an error.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "十一月盘点").unwrap();
    for (c, h) in ["仓库编码", "商品编码", "盘点数量"].iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    ws.write_string(2, 0, "HZ01").unwrap();
    ws.write_string(2, 1, "MUG").unwrap();
    ws.write_number(2, 2, 12.0).unwrap();
    ws.write_string(3, 0, "HZ01").unwrap();
    ws.write_string(3, 1, "TEE").unwrap();
    ws.write_formula(3, 2, rust_xlsxwriter::Formula::new("=5+7").set_result("12"))
        .unwrap();
    ws.write_string(5, 0, "HZ01").unwrap();
    ws.write_number(5, 1, 123.0).unwrap();
    ws.write_formula(
        5,
        2,
        rust_xlsxwriter::Formula::new("=1/0").set_result("#DIV/0!"),
    )
    .unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let file = parse(&bytes).unwrap();
    assert_eq!(file.header_row, 2);
    let read: Vec<_> = file
        .rows
        .iter()
        .map(|r| {
            (
                r.row,
                r.sku_code.as_str(),
                r.values.as_ref().map(|v| v.counted).map_err(|p| p.verdict),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            (3, "MUG", Ok(12)),
            (4, "TEE", Ok(12)),
            (6, "123", Err(CountVerdict::NotWholeNumber)),
        ]
    );
}

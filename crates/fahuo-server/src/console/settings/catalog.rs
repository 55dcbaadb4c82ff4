//! 仓库 and 商品: warehouses (list, add); SKUs (add, tags), platform SKU mappings and stock
//! bins.

use super::{Choice, Section, SectionLink, choices, enter_section, load, yuan};
use crate::AppState;
use crate::console::{Chrome, Lang, PageResult, not_found, render};
use crate::extract::MaybeSession;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use fahuo_domain::SkuId;
use serde::Deserialize;
use std::collections::HashMap;

pub struct WarehousesText {
    heading: &'static str,
    hint: &'static str,
    code: &'static str,
    code_hint: &'static str,
    name: &'static str,
    name_hint: &'static str,
    address: &'static str,
    province: &'static str,
    city: &'static str,
    county: &'static str,
    detail: &'static str,
    address_hint: &'static str,
    location: &'static str,
    lat: &'static str,
    lng: &'static str,
    location_hint: &'static str,
    none: &'static str,
    add_heading: &'static str,
    add: &'static str,
}

static WH_ZH: WarehousesText = WarehousesText {
    heading: "仓库",
    hint: "发货仓库。仓库地址是面单上的寄件地址，也用于就近分仓。",
    code: "仓库编码",
    code_hint: "简短唯一的编码，如 HZ01",
    name: "仓库名",
    name_hint: "如：杭州仓",
    address: "地址",
    province: "省",
    city: "市",
    county: "区/县",
    detail: "详细地址",
    address_hint: "打印在面单上的寄件地址",
    location: "坐标",
    lat: "纬度",
    lng: "经度",
    location_hint: "可选；填写后就近分仓更准确",
    none: "还没有仓库",
    add_heading: "添加仓库",
    add: "添加仓库",
};

static WH_EN: WarehousesText = WarehousesText {
    heading: "Warehouses",
    hint: "Where parcels ship from. The address is the sender address on labels and is used to pick the nearest warehouse.",
    code: "Code",
    code_hint: "A short unique code, e.g. HZ01",
    name: "Name",
    name_hint: "e.g. Hangzhou warehouse",
    address: "Address",
    province: "Province",
    city: "City",
    county: "District",
    detail: "Street address",
    address_hint: "Printed on labels as the sender address",
    location: "Coordinates",
    lat: "Latitude",
    lng: "Longitude",
    location_hint: "Optional; makes choosing the nearest warehouse more precise",
    none: "No warehouses yet",
    add_heading: "Add a warehouse",
    add: "Add warehouse",
};

struct WarehouseRow {
    id: i64,
    code: String,
    name: String,
    address: String,
    location: Option<String>,
}

#[derive(Template)]
#[template(path = "settings_warehouses.html")]
struct WarehousesPage {
    chrome: Chrome,
    nav: Vec<SectionLink>,
    t: &'static WarehousesText,
    rows: Vec<WarehouseRow>,
}

/// 仓库: the warehouses and adding one.
pub async fn warehouses_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
) -> PageResult {
    let (actor, chrome, nav) = enter_section(session, lang, &uri, Section::Warehouses)?;
    let t = lang.pick(&WH_ZH, &WH_EN);
    let rows = load!(s.app.warehouses(&actor).await, chrome)
        .into_iter()
        .map(|w| WarehouseRow {
            id: w.id.get(),
            code: w.code.to_string(),
            name: w.name.to_string(),
            address: format!("{}{}{}{}", w.province, w.city, w.county, w.address),
            location: w.location.map(|l| format!("{:.4}, {:.4}", l.lat, l.lng)),
        })
        .collect();
    Ok(render(WarehousesPage {
        chrome,
        nav,
        t,
        rows,
    }))
}

pub struct SkusText {
    heading: &'static str,
    hint: &'static str,
    code: &'static str,
    code_hint: &'static str,
    name: &'static str,
    barcode: &'static str,
    barcode_hint: &'static str,
    weight: &'static str,
    weight_hint: &'static str,
    size: &'static str,
    length: &'static str,
    width: &'static str,
    height: &'static str,
    size_hint: &'static str,
    cost: &'static str,
    cost_hint: &'static str,
    tags: &'static str,
    /// The tags as they are typed (shown as code, before [`Self::tags_hint`]).
    tags_example: &'static str,
    tags_hint: &'static str,
    save_tags: &'static str,
    bin: &'static str,
    none: &'static str,
    add_heading: &'static str,
    add: &'static str,
    mappings_heading: &'static str,
    mappings_hint: &'static str,
    shop: &'static str,
    platform_sku: &'static str,
    platform_sku_hint: &'static str,
    sku: &'static str,
    quantity: &'static str,
    quantity_hint: &'static str,
    map: &'static str,
    no_mappings: &'static str,
    bins_heading: &'static str,
    bins_hint: &'static str,
    warehouse: &'static str,
    show: &'static str,
    bin_hint: &'static str,
    set_bin: &'static str,
}

static SKU_ZH: SkusText = SkusText {
    heading: "商品",
    hint: "你的商品（SKU）。平台上的商品要对应到这里的商品，才能审单、扣库存和拣货。",
    code: "商家编码",
    code_hint: "唯一的商品编码，如 MUG-350",
    name: "商品名",
    barcode: "条码",
    barcode_hint: "扫码验货用；可留空",
    weight: "重量（克）",
    weight_hint: "单件重量，用于估算运费和称重核对",
    size: "尺寸（毫米）",
    length: "长",
    width: "宽",
    height: "高",
    size_hint: "可选；用于选箱和体积重",
    cost: "成本（元）",
    cost_hint: "用于低于成本拦截",
    tags: "标签",
    tags_example: "冷链、易碎、液体、带电、大件",
    tags_hint: "；逗号分隔。冷链和易碎会印在面单上，选快递规则可按标签限制",
    save_tags: "保存标签",
    bin: "库位",
    none: "还没有商品",
    add_heading: "添加商品",
    add: "添加商品",
    mappings_heading: "平台商品对应",
    mappings_hint: "把平台商品（SKU ID）对应到你的商品；组合装填数量，如 1 个平台商品 = 2 个商品。",
    shop: "店铺",
    platform_sku: "平台 SKU ID",
    platform_sku_hint: "平台订单里商品的 SKU ID",
    sku: "商品",
    quantity: "数量",
    quantity_hint: "1 个平台商品包含几个此商品",
    map: "保存对应",
    no_mappings: "还没有对应关系",
    bins_heading: "库位",
    bins_hint: "商品在仓库里的位置（如 A-03-2），拣货单按库位排序。",
    warehouse: "仓库",
    show: "查看",
    bin_hint: "留空则清除库位",
    set_bin: "保存库位",
};

static SKU_EN: SkusText = SkusText {
    heading: "Products",
    hint: "Your SKUs. A platform's SKU must be mapped to one of these before orders can be reviewed, reserved and picked.",
    code: "SKU code",
    code_hint: "A unique code, e.g. MUG-350",
    name: "Name",
    barcode: "Barcode",
    barcode_hint: "For scan checks when packing; optional",
    weight: "Weight (g)",
    weight_hint: "One unit's weight, for freight estimates and weighing checks",
    size: "Size (mm)",
    length: "Length",
    width: "Width",
    height: "Height",
    size_hint: "Optional; for box choice and volumetric weight",
    cost: "Cost (yuan)",
    cost_hint: "For the below-cost hold",
    tags: "Tags",
    tags_example: "cold_chain, fragile, liquid, battery, bulky",
    tags_hint: "; separate with commas. Cold-chain and fragile are printed on labels; carrier rules can use tags",
    save_tags: "Save tags",
    bin: "Bin",
    none: "No SKUs yet",
    add_heading: "Add a SKU",
    add: "Add SKU",
    mappings_heading: "Platform SKU mappings",
    mappings_hint: "Map a platform SKU ID to your SKU; for bundles enter the quantity, e.g. one platform SKU = 2 units.",
    shop: "Shop",
    platform_sku: "Platform SKU ID",
    platform_sku_hint: "The SKU ID in the platform's orders",
    sku: "SKU",
    quantity: "Quantity",
    quantity_hint: "Units of this SKU in one platform SKU",
    map: "Save mapping",
    no_mappings: "No mappings yet",
    bins_heading: "Stock bins",
    bins_hint: "Where a SKU sits in the warehouse (e.g. A-03-2); pick lists are sorted by bin.",
    warehouse: "Warehouse",
    show: "Show",
    bin_hint: "Empty clears the bin",
    set_bin: "Save bin",
};

struct SkuRow {
    id: i64,
    code: String,
    name: String,
    barcode: String,
    weight: i64,
    size: String,
    cost: String,
    tags: String,
    bin: String,
}

struct MappingRow {
    shop: String,
    platform_sku: String,
    sku: String,
    quantity: i64,
}

#[derive(Template)]
#[template(path = "settings_skus.html")]
struct SkusPage {
    chrome: Chrome,
    nav: Vec<SectionLink>,
    t: &'static SkusText,
    rows: Vec<SkuRow>,
    mappings: Vec<MappingRow>,
    shops: Vec<Choice>,
    skus: Vec<Choice>,
    warehouses: Vec<Choice>,
    warehouse: Option<i64>,
}

#[derive(Deserialize)]
pub struct SkusQuery {
    warehouse: Option<i64>,
}

/// 商品: SKUs with tags and bins, adding one, platform SKU mappings.
pub async fn skus_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(q): Query<SkusQuery>,
) -> PageResult {
    let (actor, chrome, nav) = enter_section(session, lang, &uri, Section::Skus)?;
    let t = lang.pick(&SKU_ZH, &SKU_EN);
    let skus = load!(s.app.skus(&actor).await, chrome);
    let tags = load!(s.app.sku_tags(&actor).await, chrome);
    let mappings = load!(s.app.shop_sku_mappings(&actor).await, chrome);
    let shops: Vec<_> = load!(s.app.shops(&actor).await, chrome)
        .into_iter()
        .collect();
    let warehouses: Vec<_> = load!(s.app.warehouses(&actor).await, chrome)
        .into_iter()
        .collect();
    let warehouse = match q.warehouse {
        Some(id) => match warehouses.iter().find(|w| w.id.get() == id) {
            Some(w) => Some(w.id),
            None => return Err(not_found(chrome).into()),
        },
        None => warehouses.first().map(|w| w.id),
    };
    let bins: HashMap<SkuId, String> = match warehouse {
        Some(w) => load!(s.app.stock_bins(&actor, w).await, chrome),
        None => HashMap::new(),
    };
    let sku_label: HashMap<SkuId, String> = skus
        .iter()
        .map(|s| (s.id, format!("{} {}", s.code, s.name)))
        .collect();
    let shop_name: HashMap<_, String> = shops.iter().map(|s| (s.id, s.name.to_string())).collect();
    let rows = skus
        .iter()
        .map(|sku| SkuRow {
            id: sku.id.get(),
            code: sku.code.to_string(),
            name: sku.name.to_string(),
            barcode: sku
                .barcode
                .as_ref()
                .map(|b| b.to_string())
                .unwrap_or_default(),
            weight: sku.weight.get(),
            size: if sku.size.length + sku.size.width + sku.size.height > 0 {
                format!("{}×{}×{}", sku.size.length, sku.size.width, sku.size.height)
            } else {
                String::new()
            },
            cost: yuan(sku.cost.0),
            tags: tags
                .get(&sku.id)
                .map(|t| {
                    let shown: Vec<&str> = t.iter().map(|tag| tag_label(lang, tag)).collect();
                    shown.join(", ")
                })
                .unwrap_or_default(),
            bin: bins.get(&sku.id).cloned().unwrap_or_default(),
        })
        .collect();
    let mappings = mappings
        .into_iter()
        .filter_map(|m| {
            Some(MappingRow {
                shop: shop_name.get(&m.shop_id)?.clone(),
                platform_sku: m.platform_sku_id,
                sku: sku_label.get(&m.sku_id).cloned().unwrap_or_default(),
                quantity: m.quantity,
            })
        })
        .collect();
    let page = SkusPage {
        chrome,
        nav,
        t,
        rows,
        mappings,
        shops: choices(
            shops
                .iter()
                .map(|s| (s.id.get().to_string(), s.name.to_string())),
            None::<&str>,
        ),
        skus: choices(
            skus.iter()
                .map(|s| (s.id.get().to_string(), format!("{} {}", s.code, s.name))),
            None::<&str>,
        ),
        warehouses: choices(
            warehouses
                .iter()
                .map(|w| (w.id.get().to_string(), format!("{} {}", w.code, w.name))),
            warehouse.map(|w| w.get().to_string()).as_deref(),
        ),
        warehouse: warehouse.map(|w| w.get()),
    };
    Ok(render(page))
}

/// A SKU tag as the page shows it: the known ones by their Chinese name on a Chinese page
/// (the field takes either name; the store keeps `fragile`, `cold_chain`, ...), so a tag typed
/// as 易碎 does not come back as `fragile`.
fn tag_label(lang: Lang, tag: &str) -> &str {
    match (lang, tag) {
        (Lang::Zh, "cold_chain") => "冷链",
        (Lang::Zh, "fragile") => "易碎",
        (Lang::Zh, "liquid") => "液体",
        (Lang::Zh, "battery") => "带电",
        (Lang::Zh, "bulky") => "大件",
        _ => tag,
    }
}

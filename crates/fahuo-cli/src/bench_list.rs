//! `fahuo bench order-list`: the console's order list over a large tenant. A tenant with an
//! owner, six shops, three warehouses and N orders spread like a real backlog is bulk-loaded
//! (`fahuo_store::bench_seed`), the real router is served on loopback in this process, and
//! every filter combination the page offers is timed over HTTP, for the page (`/orders`) and
//! the API (`/api/v1/orders`). The time is from sending the request to the last byte of the
//! answer over loopback: an upper bound of the server's time.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, Utc};
use fahuo_app::catalog::{ShopInput, SkuInput, WarehouseInput};
use fahuo_app::{Actor, App};
use fahuo_domain::order::{NewOrder, NewOrderLine, Receiver};
use fahuo_domain::{
    Fen, Name, OrderState, Platform, PlatformOrderId, ShopId, SkuCode, SkuId, TenantId, WarehouseId,
};
use fahuo_store::bench_seed::{SeedAfterSale, SeedOrder, SeedParcel};
use std::time::Instant;

/// The owner's password of the benchmark tenant.
pub const OWNER_PASSWORD: &str = "bench-owner-password";

/// A small, fast, deterministic random source (SplitMix64): the same seed gives the same data.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// An index into `weights`, drawn in proportion to them.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// How a real backlog spreads over the states, per million orders: most orders shipped or
/// delivered long ago, a few thousand still being worked on. With the age range (hours before
/// now) in which orders of that state were created.
pub const STATE_MIX: [(OrderState, u64, (i64, i64)); 13] = [
    (OrderState::New, 3_000, (0, 30)),
    (OrderState::OnHold, 1_500, (0, 240)),
    (OrderState::Approved, 2_000, (1, 48)),
    (OrderState::Allocated, 1_000, (1, 48)),
    (OrderState::WaybillIssued, 1_500, (1, 48)),
    (OrderState::Printed, 2_500, (2, 60)),
    (OrderState::Packed, 1_000, (2, 60)),
    (OrderState::Shipped, 60_000, (6, 96)),
    (OrderState::InTransit, 120_000, (24, 240)),
    (OrderState::Delivered, 761_000, (72, 2_160)),
    (OrderState::Cancelled, 30_000, (0, 2_160)),
    (OrderState::Refunded, 12_000, (24, 2_160)),
    (OrderState::Returned, 4_500, (240, 2_160)),
];

/// Carriers with their share and a number format (prefix, digits).
const CARRIERS: [(&str, u64, &str, usize); 8] = [
    ("ZTO", 30, "78", 12),
    ("YTO", 20, "YT", 13),
    ("YUNDA", 15, "43", 13),
    ("STO", 12, "77", 12),
    ("JTSD", 10, "JT", 13),
    ("SF", 8, "SF", 13),
    ("JD", 3, "JDVA", 11),
    ("EMS", 2, "98", 11),
];

const SURNAMES: [&str; 40] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "欧阳",
];
const GIVEN: [&str; 60] = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "晨", "婷", "浩然", "子涵", "欣怡", "梓轩",
    "雨桐", "宇航", "思远", "佳怡", "一诺", "俊杰", "嘉怡", "诗涵", "博文", "晓东", "春梅", "海燕",
    "建华", "志强", "文静", "丹", "鹏", "亮", "倩", "雪", "琳", "颖", "慧", "斌", "波", "辉", "鑫",
    "悦", "瑶", "凯", "琪",
];
const REGIONS: [(&str, &str, &str); 16] = [
    ("浙江省", "杭州市", "余杭区"),
    ("浙江省", "宁波市", "鄞州区"),
    ("广东省", "广州市", "天河区"),
    ("广东省", "深圳市", "南山区"),
    ("广东省", "东莞市", ""),
    ("北京市", "北京市", "朝阳区"),
    ("上海市", "上海市", "浦东新区"),
    ("江苏省", "南京市", "鼓楼区"),
    ("江苏省", "苏州市", "工业园区"),
    ("四川省", "成都市", "武侯区"),
    ("湖北省", "武汉市", "洪山区"),
    ("山东省", "青岛市", "黄岛区"),
    ("河南省", "郑州市", "金水区"),
    ("陕西省", "西安市", "雁塔区"),
    ("福建省", "厦门市", "思明区"),
    ("湖南省", "长沙市", "岳麓区"),
];
const STREETS: [&str; 8] = [
    "文一西路",
    "人民路",
    "中山大道",
    "建设路",
    "解放路",
    "和平街",
    "科技园路",
    "滨江大道",
];

/// The catalog: code, name, price (fen), weight (g), tags.
const PRODUCTS: [(&str, &str, i64, i64, &[&str]); 12] = [
    ("MUG-01", "陶瓷马克杯 350ml", 3900, 380, &["fragile"]),
    ("TEE-01", "纯棉短袖T恤 白 L", 5900, 200, &[]),
    ("TEE-02", "纯棉短袖T恤 黑 M", 5900, 200, &[]),
    (
        "SAUCE-01",
        "手工辣椒酱 250g",
        2800,
        320,
        &["liquid", "fragile"],
    ),
    ("FRUIT-01", "丹东草莓 1kg 冷链", 8900, 1200, &["cold_chain"]),
    ("PB-01", "充电宝 10000mAh", 9900, 250, &["battery"]),
    ("CHAIR-01", "折叠露营椅", 12900, 3500, &["bulky"]),
    ("SOCK-01", "棉袜 5双装", 2500, 150, &[]),
    ("TEA-01", "西湖龙井 250g 礼盒", 16800, 600, &["gift"]),
    ("CASE-01", "手机壳 透明", 1900, 60, &[]),
    ("GLASS-01", "玻璃保鲜盒 3件套", 6900, 1500, &["fragile"]),
    ("BAG-01", "帆布托特包", 4500, 300, &[]),
];

/// What the benchmark tenant holds.
pub struct Fixture {
    pub tenant: TenantId,
    pub owner: String,
    pub shops: Vec<(ShopId, Platform)>,
    pub warehouses: Vec<WarehouseId>,
    pub skus: Vec<SkuId>,
    /// A tenant of its own with a few orders (tenant scoping).
    pub other_tenant: TenantId,
}

/// Creates the tenant, its owner, six shops (two per platform), three warehouses and the
/// catalog through the application, as a merchant would.
pub async fn create_merchant(app: &App, owner: &str) -> Result<Fixture> {
    let stamp = app.now().format("%Y%m%d%H%M%S%3f");
    let tenant = app
        .create_tenant(&Name::parse(&format!("order-list bench {stamp}"))?)
        .await?
        .id;
    let cli = Actor::cli(tenant);
    app.add_user(
        &cli,
        fahuo_app::users::UserInput {
            username: fahuo_domain::Username::parse(owner)?,
            display_name: "店主".into(),
            role: fahuo_domain::Role::Owner,
            password: fahuo_app::auth::Password::parse(OWNER_PASSWORD)?,
        },
    )
    .await?;
    let mut shops = Vec::new();
    for (platform, names) in [
        ("wechat", ["微信小店·旗舰店", "微信小店·折扣店"]),
        ("douyin", ["抖店·官方旗舰店", "抖店·直播间"]),
        ("xiaohongshu", ["小红书·生活馆", "小红书·好物社"]),
    ] {
        for (i, name) in names.iter().enumerate() {
            let shop = app
                .create_shop(
                    &cli,
                    &ShopInput {
                        platform: platform.into(),
                        name: (*name).into(),
                        platform_shop_id: format!("{platform}-{stamp}-{i}"),
                        api_base_url: None,
                        credentials: None,
                    },
                )
                .await?;
            shops.push((shop.id, shop.platform));
        }
    }
    let mut warehouses = Vec::new();
    for (code, name, province, city, county) in [
        ("HZ01", "杭州仓", "浙江省", "杭州市", "余杭区"),
        ("GZ01", "广州仓", "广东省", "广州市", "白云区"),
        ("BJ01", "北京仓", "北京市", "北京市", "大兴区"),
    ] {
        let w = app
            .create_warehouse(
                &cli,
                &WarehouseInput {
                    code: code.into(),
                    name: name.into(),
                    province: province.into(),
                    city: city.into(),
                    county: county.into(),
                    address: "物流园1号".into(),
                    lat: None,
                    lng: None,
                },
            )
            .await?;
        warehouses.push(w.id);
    }
    let mut skus = Vec::new();
    for (code, name, price, weight, tags) in PRODUCTS {
        let sku = app
            .create_sku(
                &cli,
                &SkuInput {
                    code: code.into(),
                    name: name.into(),
                    barcode: None,
                    weight_g: weight,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: price / 3,
                },
            )
            .await?;
        if !tags.is_empty() {
            let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
            app.set_sku_tags(&cli, sku.id, &tags).await?;
        }
        skus.push(sku.id);
    }
    let other_tenant = app
        .create_tenant(&Name::parse(&format!("order-list bench other {stamp}"))?)
        .await?
        .id;
    Ok(Fixture {
        tenant,
        owner: owner.into(),
        shops,
        warehouses,
        skus,
        other_tenant,
    })
}

/// One order to generate: when, in which state, and the seed of the rest.
#[derive(Clone, Copy)]
struct Plan {
    created_ms: i64,
    state: OrderState,
    seed: u64,
}

/// Draws `n` orders' states and creation times, oldest first (so ids grow with time, as
/// they do when orders arrive).
fn plan(n: usize, now: DateTime<Utc>, seed: u64) -> Vec<Plan> {
    let mut rng = Rng::new(seed);
    let weights: Vec<u64> = STATE_MIX.iter().map(|(_, w, _)| *w).collect();
    let now_ms = now.timestamp_millis();
    let mut plans: Vec<Plan> = (0..n)
        .map(|_| {
            let (state, _, (from_h, to_h)) = STATE_MIX[rng.weighted(&weights)];
            let span_ms = (to_h - from_h).max(1) * 3_600_000;
            let created_ms = now_ms - from_h * 3_600_000 - rng.below(span_ms as u64) as i64;
            Plan {
                created_ms,
                state,
                seed: rng.next_u64(),
            }
        })
        .collect();
    plans.sort_by_key(|p| p.created_ms);
    plans
}

/// Loads one order per entry of `states` (in that state, with its package, number and
/// shipment as far as the state implies; no after-sale) into the fixture's tenant, `batch`
/// orders per transaction — the order rows of `fahuo bench pipeline`'s raw reference.
/// Returns search samples for the order list's combinations.
pub async fn load_in_states(
    app: &App,
    fx: &Fixture,
    states: &[OrderState],
    batch: usize,
) -> Result<Samples> {
    let now = app.now();
    let mut samples = Samples::default();
    let mut rng = Rng::new(SEED);
    let plans: Vec<Plan> = states
        .iter()
        .map(|&state| Plan {
            created_ms: now.timestamp_millis() - rng.below(48 * 3_600_000) as i64,
            state,
            seed: rng.next_u64(),
        })
        .collect();
    for (c, chunk) in plans.chunks(batch.max(1)).enumerate() {
        let orders: Vec<SeedOrder> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let serial = (c * batch.max(1) + i) as u64;
                build(&fx.shops, &fx.warehouses, &fx.skus, *p, serial).map(|mut o| {
                    o.after_sale = None;
                    o
                })
            })
            .collect::<Result<_>>()?;
        samples.take_from(&orders);
        app.store().seed_orders(fx.tenant, &orders).await?;
    }
    Ok(samples)
}

/// How many of `n` orders [`seed`] puts in each state.
pub fn planned_state_counts(n: usize) -> std::collections::BTreeMap<OrderState, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for p in plan(n, Utc::now(), SEED) {
        *counts.entry(p.state).or_insert(0) += 1;
    }
    counts
}

/// The seed of the benchmark's data.
const SEED: u64 = 20_261_205;

/// A receiver name like the ones on real parcels: surname and given name, now and then with
/// a space or an English name.
pub fn receiver_name(rng: &mut Rng) -> String {
    if rng.chance(0.01) {
        return rng
            .pick(&["Li Lei", "Han Meimei", "Zhang Wei", "Wang Fang"])
            .to_string();
    }
    format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN))
}

/// Builds the order of `plan`. `serial` makes order and waybill numbers unique.
fn build(
    fx_shops: &[(ShopId, Platform)],
    warehouses: &[WarehouseId],
    skus: &[SkuId],
    p: Plan,
    serial: u64,
) -> Result<SeedOrder> {
    let mut rng = Rng::new(p.seed);
    let (shop_id, platform) = *rng.pick(fx_shops);
    let created_at = DateTime::<Utc>::from_timestamp_millis(p.created_ms).context("time")?;
    let number = match platform {
        Platform::Wechat => format!("37{:017}", 10_000_000_000_000 + serial),
        Platform::Douyin => format!("69{:017}", 20_000_000_000_000 + serial),
        _ => format!("P{:018}", 30_000_000_000_000 + serial),
    };
    let (province, city, county) = *rng.pick(&REGIONS);
    let phone = format!(
        "1{}{}{:08}",
        rng.pick(&["3", "5", "7", "8", "9"]),
        rng.below(10),
        rng.below(100_000_000)
    );
    let detail = format!(
        "{}{}号{}栋{}室",
        rng.pick(&STREETS),
        1 + rng.below(300),
        1 + rng.below(30),
        101 + rng.below(2_400)
    );
    let receiver = Receiver::parse(
        &receiver_name(&mut rng),
        &phone,
        province,
        city,
        county,
        &detail,
    )?;
    let line_count = 1 + rng.weighted(&[60, 30, 10]);
    let mut lines = Vec::new();
    let mut line_skus = Vec::new();
    let reviewed = !matches!(p.state, OrderState::New | OrderState::OnHold);
    let mut total = 0;
    for i in 0..line_count {
        let k = rng.below(PRODUCTS.len() as u64) as usize;
        let (code, title, price, _, _) = PRODUCTS[k];
        let quantity = 1 + rng.weighted(&[80, 15, 5]) as i64;
        total += price * quantity;
        lines.push(NewOrderLine {
            platform_line_id: Some(format!("{number}-{}", i + 1)),
            platform_sku_id: Some(format!("{}-{code}", platform.as_str())),
            sku_code: Some(SkuCode::parse(code)?),
            title: title.into(),
            quantity,
            unit_price: Fen(price),
            paid: Fen(price * quantity),
        });
        // Review maps each line to a SKU; a new or held order may not be mapped yet.
        let mapped = reviewed || rng.chance(0.7);
        line_skus.push(skus.get(k).copied().filter(|_| mapped));
    }
    let paid_at = created_at + Duration::seconds(rng.below(600) as i64);
    let hours = [48, 48, 48, 48, 24, 72][rng.below(6) as usize];
    let ship_by = paid_at + Duration::hours(hours);
    let status = match p.state {
        OrderState::Shipped | OrderState::InTransit => "已发货",
        OrderState::Delivered => "已完成",
        OrderState::Cancelled | OrderState::Refunded => "已关闭",
        OrderState::Returned => "售后完成",
        _ => "待发货",
    };
    let order = NewOrder {
        shop_id,
        platform_order_id: PlatformOrderId::parse(&number)?,
        platform_status: status.into(),
        paid_total: Fen(total),
        freight: Fen(0),
        buyer_note: rng.chance(0.08).then(|| "请尽快发货，谢谢".to_string()),
        seller_note: rng.chance(0.03).then(|| "老客户，送小样".to_string()),
        paid_at: Some(paid_at),
        ship_by: Some(ship_by),
        presale_ship_at: None,
        platform_updated_at: Some(paid_at),
        receiver,
        lines,
        receiver_fingerprint: None,
    }
    .validate()?;
    let hold = (p.state == OrderState::OnHold).then(|| {
        let (code, message) = *rng.pick(&[
            ("address_incomplete", "地址不完整，请联系买家"),
            ("buyer_note", "买家留言需要处理"),
            ("stockout", "库存不足"),
            ("manual", "客服挂起"),
        ]);
        (code.to_string(), message.to_string())
    });
    let allocated = p.state >= OrderState::Allocated
        && !matches!(p.state, OrderState::Cancelled | OrderState::Refunded);
    let parcel = allocated.then(|| {
        let weights: Vec<u64> = CARRIERS.iter().map(|c| c.1).collect();
        let (carrier, _, prefix, digits) = CARRIERS[rng.weighted(&weights)];
        let numbered = p.state >= OrderState::WaybillIssued;
        let shipped = p.state >= OrderState::Shipped;
        let serial_digits = format!("{:0width$}", serial, width = digits);
        SeedParcel {
            warehouse_id: warehouses[rng.weighted(&[50, 30, 20])],
            carrier_code: carrier.into(),
            tracking_no: numbered.then(|| format!("{prefix}{serial_digits}")),
            weight_g: 200 + rng.below(3_000) as i64,
            shipped_at: shipped.then(|| created_at + Duration::hours(2 + rng.below(40) as i64)),
        }
    });
    let updated_at = match &parcel {
        Some(SeedParcel {
            shipped_at: Some(at),
            ..
        }) => *at,
        _ => paid_at,
    };
    // About 4 % of the orders that reached the buyer (and every refund or return) have an
    // after-sale; most are done, some still open (the 售后 tab).
    let has_after_sale = match p.state {
        OrderState::Refunded | OrderState::Returned => true,
        OrderState::Shipped | OrderState::InTransit | OrderState::Delivered => rng.chance(0.04),
        _ => false,
    };
    let after_sale = has_after_sale.then(|| {
        use fahuo_domain::aftersale::{AfterSaleKind as K, AfterSaleStatus as S};
        let kind = match p.state {
            OrderState::Refunded => K::RefundOnly,
            OrderState::Returned => K::ReturnRefund,
            _ => *rng.pick(&[K::RefundOnly, K::ReturnRefund, K::ReturnRefund, K::Exchange]),
        };
        let status = if matches!(p.state, OrderState::Refunded | OrderState::Returned) {
            S::Completed
        } else {
            *rng.pick(&[
                S::Completed,
                S::Completed,
                S::Completed,
                S::Closed,
                S::Rejected,
                S::Requested,
                S::AwaitingReturn,
                S::ReturnShipped,
            ])
        };
        SeedAfterSale {
            platform_after_sale_id: format!("AS{number}"),
            kind,
            status,
            reason: rng
                .pick(&["不想要了", "尺码不合适", "商品破损", "发错货"])
                .to_string(),
            refund_fen: total,
            created_at: updated_at + Duration::hours(24 + rng.below(96) as i64),
        }
    });
    Ok(SeedOrder {
        order,
        state: p.state,
        created_at,
        updated_at,
        hold,
        parcel,
        line_skus,
        after_sale,
    })
}

/// What a seeding did.
pub struct Seeded {
    pub orders: usize,
    pub seconds: f64,
    /// A few values the searches look for (taken from generated orders).
    pub samples: Samples,
}

/// Values that exist in the data, for the search combinations.
#[derive(Default, Clone)]
pub struct Samples {
    pub order_number: String,
    pub waybill: String,
    pub phone_tail: String,
    pub receiver_name: String,
}

impl Samples {
    /// Search samples from the latest orders: the ones a person looks for.
    fn take_from(&mut self, orders: &[SeedOrder]) {
        for o in orders {
            self.order_number = o.order.platform_order_id.as_str().to_string();
            self.phone_tail = o.order.receiver.phone.last_four().to_string();
            self.receiver_name = o.order.receiver.name.clone();
            if let Some(n) = o.parcel.as_ref().and_then(|p| p.tracking_no.clone()) {
                self.waybill = n;
            }
        }
    }
}

/// Loads `n` orders into the fixture's tenant (and 2,000 into the other tenant), in
/// transactions of `batch` orders. `progress` is told the count after each batch.
pub async fn seed(
    app: &App,
    fx: &Fixture,
    n: usize,
    batch: usize,
    mut progress: impl FnMut(usize),
) -> Result<Seeded> {
    let started = Instant::now();
    let now = app.now();
    let plans = plan(n, now, SEED);
    let mut samples = Samples::default();
    let mut done = 0;
    for chunk in plans.chunks(batch.max(1)) {
        let orders: Vec<SeedOrder> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| build(&fx.shops, &fx.warehouses, &fx.skus, *p, (done + i) as u64))
            .collect::<Result<_>>()?;
        samples.take_from(&orders);
        app.store().seed_orders(fx.tenant, &orders).await?;
        done += chunk.len();
        progress(done);
    }
    // The other tenant: one shop, a few orders, same shapes.
    let cli = Actor::cli(fx.other_tenant);
    let shop = app
        .create_shop(
            &cli,
            &ShopInput {
                platform: "douyin".into(),
                name: "别家抖店".into(),
                platform_shop_id: format!("other-{}", fx.other_tenant.get()),
                api_base_url: None,
                credentials: None,
            },
        )
        .await?;
    let warehouse = app
        .create_warehouse(
            &cli,
            &WarehouseInput {
                code: "OT01".into(),
                name: "别家仓".into(),
                province: "浙江省".into(),
                city: "杭州市".into(),
                county: "萧山区".into(),
                address: "1号".into(),
                lat: None,
                lng: None,
            },
        )
        .await?;
    let other: Vec<SeedOrder> = plan(2_000, now, 7)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            build(
                &[(shop.id, shop.platform)],
                &[warehouse.id; 3],
                &[],
                p,
                (n + i) as u64 + 1_000_000_000,
            )
            .map(|mut o| {
                o.line_skus = vec![None; o.order.lines.len()];
                o
            })
        })
        .collect::<Result<_>>()?;
    app.store().seed_orders(fx.other_tenant, &other).await?;
    app.store().analyze().await?;
    Ok(Seeded {
        orders: n,
        seconds: started.elapsed().as_secs_f64(),
        samples,
    })
}

/// One timed combination.
pub struct ComboRow {
    pub name: String,
    pub path: String,
    pub rows: usize,
    /// The API said the page is partial (a bounded window was searched; the cursor goes on).
    pub partial: bool,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The filter combinations of the order page, as query strings, named: each tab, each single
/// filter, each search kind, both sorts, pairs and triples, tab × filter, an empty result.
pub fn combinations(fx: &Fixture, s: &Samples, now: DateTime<Utc>) -> Vec<(String, String)> {
    let day = |d: DateTime<Utc>| {
        d.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
            .format("%Y-%m-%d")
            .to_string()
    };
    let shop = fx.shops[0].0.get();
    let warehouse = fx.warehouses[1].get();
    let week_ago = day(now - Duration::days(7));
    let month_ago = day(now - Duration::days(30));
    let today = day(now);
    let mut c: Vec<(String, String)> = vec![("all orders (newest)".into(), String::new())];
    for tab in [
        "all",
        "review",
        "print",
        "ship",
        "shipped",
        "exception",
        "after_sale",
        "cancelled",
    ] {
        c.push((format!("tab {tab}"), format!("tab={tab}")));
    }
    let singles = [
        ("shop", format!("shop_id={shop}")),
        ("platform", "platform=douyin".to_string()),
        ("carrier", "carrier=SF".to_string()),
        ("warehouse", format!("warehouse_id={warehouse}")),
        ("tag fragile", "tag=fragile".to_string()),
        ("tag cold_chain", "tag=cold_chain".to_string()),
        ("deadline overdue", "risk=overdue".to_string()),
        ("deadline within 6h", "risk=6h".to_string()),
        ("deadline within 24h", "risk=24h".to_string()),
        (
            "created today",
            format!("created_from={today}&created_to={today}"),
        ),
        ("created last 7 days", format!("created_from={week_ago}")),
        (
            "created 30–7 days ago",
            format!("created_from={month_ago}&created_to={week_ago}"),
        ),
    ];
    for (name, q) in &singles {
        c.push(((*name).into(), q.clone()));
    }
    let enc = |v: &str| {
        let mut out = String::new();
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    c.extend([
        (
            "search order number (q)".into(),
            format!("q={}", enc(&s.order_number)),
        ),
        (
            "search waybill number (q)".into(),
            format!("q={}", enc(&s.waybill)),
        ),
        (
            "search phone last four (q)".into(),
            format!("q={}", s.phone_tail),
        ),
        (
            "search receiver name (q)".into(),
            format!("q={}", enc(&s.receiver_name)),
        ),
        (
            "order number field".into(),
            format!("platform_order_id={}", enc(&s.order_number)),
        ),
        (
            "waybill field".into(),
            format!("waybill={}", enc(&s.waybill)),
        ),
        ("phone field".into(), format!("phone={}", s.phone_tail)),
        (
            "name field".into(),
            format!("name={}", enc(&s.receiver_name)),
        ),
        ("sort deadline".into(), "sort=deadline".into()),
        ("sort created".into(), "sort=created".into()),
        (
            "tab all × sort deadline".into(),
            "tab=all&sort=deadline".into(),
        ),
        (
            "tab shipped × sort deadline".into(),
            "tab=shipped&sort=deadline".into(),
        ),
        (
            "tab review × sort created".into(),
            "tab=review&sort=created".into(),
        ),
        (
            "shop × platform".into(),
            format!("shop_id={shop}&platform=wechat"),
        ),
        (
            "carrier × warehouse".into(),
            format!("carrier=ZTO&warehouse_id={warehouse}"),
        ),
        (
            "platform × tag".into(),
            "platform=xiaohongshu&tag=fragile".into(),
        ),
        (
            "carrier × created last 7 days".into(),
            format!("carrier=SF&created_from={week_ago}"),
        ),
        (
            "tag × created 30–7 days".into(),
            format!("tag=battery&created_from={month_ago}&created_to={week_ago}"),
        ),
        (
            "shop × carrier × tag".into(),
            format!("shop_id={shop}&carrier=YTO&tag=fragile"),
        ),
        (
            "platform × warehouse × created 7 days".into(),
            format!("platform=douyin&warehouse_id={warehouse}&created_from={week_ago}"),
        ),
        (
            "risk overdue × carrier".into(),
            "risk=overdue&carrier=ZTO".into(),
        ),
        (
            "risk 24h × shop × tag".into(),
            format!("risk=24h&shop_id={shop}&tag=fragile"),
        ),
        (
            "search phone × platform".into(),
            format!("q={}&platform=douyin", s.phone_tail),
        ),
        (
            "search name × tab shipped".into(),
            format!("q={}&tab=shipped", enc(&s.receiver_name)),
        ),
    ]);
    for tab in ["review", "print", "ship", "exception"] {
        c.push((
            format!("tab {tab} × shop"),
            format!("tab={tab}&shop_id={shop}"),
        ));
        c.push((
            format!("tab {tab} × platform"),
            format!("tab={tab}&platform=douyin"),
        ));
        c.push((
            format!("tab {tab} × risk overdue"),
            format!("tab={tab}&risk=overdue"),
        ));
        c.push((format!("tab {tab} × tag"), format!("tab={tab}&tag=fragile")));
    }
    for tab in ["print", "ship"] {
        c.push((
            format!("tab {tab} × carrier"),
            format!("tab={tab}&carrier=ZTO"),
        ));
        c.push((
            format!("tab {tab} × warehouse"),
            format!("tab={tab}&warehouse_id={warehouse}"),
        ));
    }
    c.extend([
        (
            "tab shipped × shop".into(),
            format!("tab=shipped&shop_id={shop}"),
        ),
        (
            "tab shipped × carrier".into(),
            "tab=shipped&carrier=SF".into(),
        ),
        (
            "tab shipped × warehouse".into(),
            format!("tab=shipped&warehouse_id={warehouse}"),
        ),
        (
            "tab shipped × tag".into(),
            "tab=shipped&tag=cold_chain".into(),
        ),
        (
            "tab shipped × created 30–7 days".into(),
            format!("tab=shipped&created_from={month_ago}&created_to={week_ago}"),
        ),
        (
            "tab shipped × shop × carrier".into(),
            format!("tab=shipped&shop_id={shop}&carrier=JD"),
        ),
        (
            "tab cancelled × platform".into(),
            "tab=cancelled&platform=wechat".into(),
        ),
        (
            "tab after_sale × shop".into(),
            format!("tab=after_sale&shop_id={shop}"),
        ),
        (
            "tab after_sale × carrier".into(),
            "tab=after_sale&carrier=SF".into(),
        ),
        ("empty: unknown order number".into(), "q=NOPE0000".into()),
        (
            "empty: tab review × carrier EMS × tag bulky".into(),
            "tab=review&carrier=EMS&tag=bulky".into(),
        ),
    ]);
    c
}

/// The HTTP side: the real router on loopback, a logged-in owner.
pub struct Bench {
    pub base: String,
    client: reqwest::Client,
}

impl Bench {
    /// Serves `app` on 127.0.0.1 (an ephemeral port) in this process and logs the owner in.
    pub async fn start(app: &App, owner: &str) -> Result<Bench> {
        fahuo_platforms::install_tls_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(fahuo_server::serve(
            app.clone(),
            Default::default(),
            listener,
            std::future::pending(),
        ));
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let login = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": owner, "password": OWNER_PASSWORD}))
            .send()
            .await?;
        if !login.status().is_success() {
            bail!("login as {owner} failed: {}", login.status());
        }
        Ok(Bench { base, client })
    }

    /// One GET: status, body and the time from sending to the last byte.
    pub async fn get(&self, path: &str) -> Result<(u16, String, f64)> {
        let started = Instant::now();
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.text().await?;
        Ok((status, body, started.elapsed().as_secs_f64() * 1000.0))
    }

    /// The API's next cursor after following `pages` pages of `query`.
    pub async fn cursor_after(&self, query: &str, pages: usize) -> Result<Option<String>> {
        let mut cursor: Option<String> = None;
        for _ in 0..pages {
            let sep = if query.is_empty() { "" } else { "&" };
            let after = cursor
                .as_deref()
                .map(|c| format!("{sep}after={c}"))
                .unwrap_or_default();
            let (status, body, _) = self.get(&format!("/api/v1/orders?{query}{after}")).await?;
            if status != 200 {
                bail!("/api/v1/orders?{query}{after}: {status} {body}");
            }
            let v: serde_json::Value = serde_json::from_str(&body)?;
            cursor = match &v["next_cursor"] {
                serde_json::Value::Null => return Ok(None),
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
        }
        Ok(cursor)
    }

    /// Times `runs` GETs of `path` (after one warm-up) and counts the rows of the answer.
    pub async fn time(&self, name: &str, path: &str, runs: usize) -> Result<ComboRow> {
        let (status, body, _) = self.get(path).await?;
        if status != 200 {
            bail!(
                "{path}: status {status}: {}",
                body.chars().take(300).collect::<String>()
            );
        }
        let (rows, partial) = if path.starts_with("/api/") {
            let v: serde_json::Value = serde_json::from_str(&body)?;
            (
                v["items"].as_array().map_or(0, Vec::len),
                v["partial"].as_bool().unwrap_or(false),
            )
        } else {
            (body.matches("data-order-id=").count(), false)
        };
        let mut ms = Vec::with_capacity(runs);
        for _ in 0..runs {
            let (status, _, t) = self.get(path).await?;
            if status != 200 {
                bail!("{path}: status {status}");
            }
            ms.push(t);
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
        Ok(ComboRow {
            name: name.into(),
            path: path.into(),
            rows,
            partial,
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: *ms.last().unwrap_or(&0.0),
        })
    }
}

/// Times every combination on the page and the API, plus a deep page (the cursor after 20
/// pages) of the plain list and of a tab.
pub async fn measure(
    bench: &Bench,
    fx: &Fixture,
    samples: &Samples,
    now: DateTime<Utc>,
    runs: usize,
) -> Result<Vec<ComboRow>> {
    let mut combos = combinations(fx, samples, now);
    for (name, query) in [
        ("deep page 21 (all, by created)", "sort=created"),
        ("deep page 21 (tab shipped, by created)", "tab=shipped"),
        ("deep page 21 (tab review, by deadline)", "tab=review"),
        (
            "deep page 21 (carrier SF, by deadline)",
            "carrier=SF&sort=deadline",
        ),
    ] {
        if let Some(cursor) = bench.cursor_after(query, 20).await? {
            combos.push((name.into(), format!("{query}&after={cursor}")));
        }
    }
    let mut rows = Vec::new();
    for (name, query) in &combos {
        for base in ["/orders", "/api/v1/orders"] {
            let path = if query.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{query}")
            };
            let label = format!("{} {name}", if base == "/orders" { "page" } else { "API" });
            rows.push(bench.time(&label, &path, runs).await?);
        }
    }
    Ok(rows)
}

/// The result as a Markdown table.
pub fn table(rows: &[ComboRow]) -> String {
    let mut out =
        String::from("| combination | rows | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {}{} | {:.1} | {:.1} | {:.1} |\n",
            r.name,
            r.rows,
            if r.partial { " (partial)" } else { "" },
            r.p50_ms,
            r.p99_ms,
            r.max_ms
        ));
    }
    out
}

/// The load average now (1, 5, 15 minutes), where the system tells it.
pub fn load_average() -> Option<String> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Seeds, serves, measures and prints; `Err` if any p99 is 100 ms or more.
pub async fn run(app: &App, orders: usize, runs: usize) -> Result<Vec<ComboRow>> {
    let fx = create_merchant(app, "bench-owner").await?;
    println!(
        "seeding {orders} orders (load average {})",
        load_average().unwrap_or_default()
    );
    let mut last = Instant::now();
    let seeded = seed(app, &fx, orders, 5_000, |n| {
        if last.elapsed().as_secs() >= 10 || n == orders {
            last = Instant::now();
            eprintln!("  {n} orders loaded");
        }
    })
    .await?;
    println!(
        "seeded {} orders (+2,000 in another tenant) in {:.1} s ({:.0} orders/s)",
        seeded.orders,
        seeded.seconds,
        seeded.orders as f64 / seeded.seconds.max(1e-9)
    );
    let bench = Bench::start(app, &fx.owner).await?;
    println!(
        "load average before timing: {}",
        load_average().unwrap_or_default()
    );
    let rows = measure(&bench, &fx, &seeded.samples, app.now(), runs.max(1)).await?;
    println!(
        "load average after timing: {}",
        load_average().unwrap_or_default()
    );
    print!("{}", table(&rows));
    Ok(rows)
}

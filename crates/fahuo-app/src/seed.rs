//! The demo merchant: a tenant with users, a manual (线下/批发) shop with orders, two
//! warehouses and SKUs with stock, generated deterministically so every demo looks the same.
//!
//! Platform shops are not seeded: `fahuo demo` connects shops on the built-in platform
//! emulators, and their orders arrive through sync and pushes like a real shop's.

use crate::auth::Password;
use crate::catalog::{ShopInput, SkuInput, StockMovementInput, WarehouseInput};
use crate::orders::{LineInput, OrderInput, ReceiverInput};
use crate::users::UserInput;
use crate::{Actor, App, Result};
use chrono::Duration;
use fahuo_domain::{Name, OrderId, Platform, Role, TenantId, Username};

pub const DEMO_TENANT: &str = "演示商家 Demo Merchant";
pub const DEMO_USER: &str = "demo";
pub const DEMO_PASSWORD: &str = "fahuo-demo";

/// What the demo seeded, for the banner the CLI prints.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    pub tenant: TenantId,
    pub username: &'static str,
    pub password: &'static str,
    /// False when the data directory already held the demo merchant.
    pub created: bool,
    pub orders: usize,
}

/// A tiny deterministic generator (64-bit LCG): the demo must not depend on a random seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SURNAMES: &[&str] = &[
    "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "欧阳",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明",
    "超", "秀英", "桂英", "晓燕",
];

/// (province, city, county, street) — real places across the country.
const PLACES: &[(&str, &str, &str, &str)] = &[
    ("浙江省", "杭州市", "西湖区", "文三路90号东部软件园"),
    ("浙江省", "绍兴市", "柯桥区", "轻纺城大道1号老市场11楼"),
    ("上海市", "上海市", "徐汇区", "虹漕路461号58号楼5楼"),
    ("北京市", "北京市", "朝阳区", "建国路88号SOHO现代城"),
    ("广东省", "深圳市", "南山区", "科技园南区高新南七道"),
    ("广东省", "东莞市", "南城街道", "鸿福路200号"),
    ("江苏省", "南京市", "鼓楼区", "中山北路30号"),
    ("四川省", "成都市", "武侯区", "人民南路四段12号"),
    ("湖北省", "武汉市", "洪山区", "珞喻路1037号"),
    ("陕西省", "西安市", "雁塔区", "长安南路437号"),
    ("山东省", "青岛市", "市南区", "香港中路10号"),
    ("福建省", "厦门市", "思明区", "思明南路422号"),
    ("河南省", "郑州市", "金水区", "花园路25号"),
    ("湖南省", "长沙市", "岳麓区", "麓山南路932号"),
    ("辽宁省", "沈阳市", "和平区", "南京北街206号"),
    ("云南省", "昆明市", "五华区", "翠湖南路2号"),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", "解放南路8号"),
    ("内蒙古自治区", "呼和浩特市", "新城区", "新华大街63号"),
    ("海南省", "儋州市", "那大镇", "中兴大街5号"),
    ("重庆市", "重庆市", "渝中区", "解放碑民族路188号"),
];

/// (code, name, barcode body without check digit, weight g, cost fen, price fen)
const SKUS: &[(&str, &str, &str, i64, i64, i64)] = &[
    (
        "TEE-WHT-L",
        "纯棉T恤 白色 L",
        "690123456001",
        220,
        1800,
        5900,
    ),
    (
        "TEE-BLK-M",
        "纯棉T恤 黑色 M",
        "690123456002",
        210,
        1800,
        5900,
    ),
    (
        "MUG-350",
        "陶瓷马克杯 350ml",
        "690123456003",
        380,
        900,
        3900,
    ),
    (
        "TEA-LJ-250",
        "西湖龙井 250g 礼盒",
        "690123456004",
        600,
        12000,
        29900,
    ),
    ("SOCK-5P", "中筒袜 5双装", "690123456005", 180, 1000, 2990),
    ("BAG-CANVAS", "帆布托特包", "690123456006", 300, 1500, 4900),
    ("SCARF-SILK", "真丝丝巾", "690123456007", 90, 6000, 19900),
    (
        "CANDLE-3",
        "香薰蜡烛 3只装",
        "690123456008",
        900,
        2500,
        8900,
    ),
];

/// The EAN-13 check digit of a 12-digit body.
pub fn ean13_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    (10 - sum % 10) % 10
}

impl App {
    /// Seeds the demo merchant once; a second call finds it and changes nothing.
    /// `progress(done, total)` is called as orders are created.
    pub async fn seed_demo(
        &self,
        orders: usize,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<DemoInfo> {
        if let Some(t) = self
            .tenants()
            .await?
            .into_iter()
            .find(|t| t.name.as_str() == DEMO_TENANT)
        {
            return Ok(DemoInfo {
                tenant: t.id,
                username: DEMO_USER,
                password: DEMO_PASSWORD,
                created: false,
                orders: 0,
            });
        }
        let tenant = self.create_tenant(&Name::parse(DEMO_TENANT)?).await?;
        let cli = Actor::cli(tenant.id);
        let password = Password::parse(DEMO_PASSWORD)?;
        for (username, display, role) in [
            (DEMO_USER, "店主 Demo", Role::Owner),
            ("kefu", "客服小美", Role::Service),
            ("cangku", "仓库老王", Role::Warehouse),
            ("wuliu", "物流小李", Role::Logistics),
        ] {
            let input = UserInput {
                username: Username::parse(username)?,
                display_name: display.into(),
                role,
                password: password.clone(),
            };
            self.add_user(&cli, input).await?;
        }
        // Platform shops are added by connecting them (`fahuo demo` connects the emulators).
        let manual_shop = self
            .create_shop(
                &cli,
                &ShopInput {
                    platform: Platform::Manual.as_str().into(),
                    name: "线下/批发".into(),
                    platform_shop_id: "manual".into(),
                    api_base_url: None,
                    credentials: None,
                },
            )
            .await?
            .id;
        let mut warehouses = Vec::new();
        for (code, name, province, city, county, address, lat, lng) in [
            (
                "HZ01",
                "杭州余杭仓",
                "浙江省",
                "杭州市",
                "余杭区",
                "仓前街道龙潭路8号",
                30.2905,
                119.9849,
            ),
            (
                "GZ01",
                "广州白云仓",
                "广东省",
                "广州市",
                "白云区",
                "太和镇大源北路1号",
                23.3210,
                113.3380,
            ),
        ] {
            let input = WarehouseInput {
                code: code.into(),
                name: name.into(),
                province: province.into(),
                city: city.into(),
                county: county.into(),
                address: address.into(),
                lat: Some(lat),
                lng: Some(lng),
            };
            warehouses.push(self.create_warehouse(&cli, &input).await?);
        }
        for (i, (code, name, body, weight, cost, _)) in SKUS.iter().enumerate() {
            let sku = self
                .create_sku(
                    &cli,
                    &SkuInput {
                        code: (*code).into(),
                        name: (*name).into(),
                        barcode: Some(format!("{body}{}", ean13_check_digit(body))),
                        weight_g: *weight,
                        length_mm: 250,
                        width_mm: 180,
                        height_mm: 60,
                        cost_fen: *cost,
                    },
                )
                .await?;
            for (w, warehouse) in warehouses.iter().enumerate() {
                let quantity = 40 + ((i * 37 + w * 101) % 160) as i64;
                let input = StockMovementInput {
                    warehouse_id: warehouse.id.get(),
                    sku_id: sku.id.get(),
                    kind: "inbound".into(),
                    quantity,
                    note: Some("期初库存".into()),
                };
                self.move_stock(&cli, &input).await?;
            }
        }

        let mut rng = Lcg(20261111);
        let now = self.now();
        let mut created_orders: Vec<OrderId> = Vec::with_capacity(orders);
        for n in 0..orders {
            let (province, city, county, street) = *rng.pick(PLACES);
            let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
            let phone = format!(
                "1{}{:09}",
                [3, 5, 7, 8, 9][rng.below(5)],
                rng.next() % 1_000_000_000
            );
            let lines = (0..1 + rng.below(3))
                .map(|_| {
                    let (code, title, _, _, _, price) = *rng.pick(SKUS);
                    LineInput {
                        sku_code: Some(code.into()),
                        title: title.into(),
                        quantity: 1 + rng.below(3) as i64,
                        unit_price_fen: price,
                        paid_fen: None,
                    }
                })
                .collect();
            let input = OrderInput {
                shop_id: manual_shop.get(),
                platform_order_id: format!("M{}{:05}", now.format("%Y%m%d"), n + 1),
                paid_total_fen: None,
                freight_fen: 0,
                buyer_note: (rng.below(6) == 0).then(|| "麻烦发顺丰，谢谢".to_string()),
                seller_note: None,
                ship_by: Some(now + Duration::hours(4 + rng.below(68) as i64)),
                presale_ship_at: None,
                receiver: ReceiverInput {
                    name,
                    phone,
                    province: province.into(),
                    city: city.into(),
                    county: county.into(),
                    detail: format!("{street}{}室", 100 + rng.below(900)),
                },
                lines,
            };
            let (_, view) = self.create_manual_order(&cli, &input).await?;
            created_orders.push(view.id);
            progress(n + 1, orders);
        }
        // Some orders are already reviewed, some are waiting on customer service.
        for (i, id) in created_orders.iter().enumerate() {
            match i % 5 {
                0 | 1 => {
                    self.approve_order(&cli, *id).await?;
                }
                2 => {
                    self.hold_order(&cli, *id, "buyer_note", "买家留言需客服确认")
                        .await?;
                }
                _ => {}
            }
        }
        Ok(DemoInfo {
            tenant: tenant.id,
            username: DEMO_USER,
            password: DEMO_PASSWORD,
            created: true,
            orders,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_check_digits_match_known_barcodes() {
        assert_eq!(ean13_check_digit("690123456789"), 2);
        assert_eq!(ean13_check_digit("400638133393"), 1);
    }
}

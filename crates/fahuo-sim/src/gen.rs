//! Seeded order generator: realistic, messy orders per shop over a time range, plus the follow-up
//! events (payment, cancellation, refunds, address and note changes) scheduled after "now".
//!
//! The division names below were written for this project from general knowledge of China's
//! administrative divisions (real provinces, cities and districts); street and estate fragments are
//! generic names that occur in many cities.

use crate::model::{
    Line, Order, Platform, Presale, Receiver, Refund, Shipment, Status, VirtualPhone,
};
use crate::util::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// `province|GB/T 2260 code|postal prefix|city:district,district;city:...`
const DIVISIONS: &[&str] = &[
    "北京市|11|10|北京市:东城区,朝阳区,海淀区,丰台区,通州区",
    "天津市|12|30|天津市:和平区,南开区,河西区,滨海新区",
    "河北省|13|05|石家庄市:长安区,桥西区,裕华区;保定市:竞秀区,莲池区;唐山市:路北区,丰南区",
    "山西省|14|03|太原市:小店区,迎泽区;大同市:平城区,云冈区",
    "内蒙古自治区|15|01|呼和浩特市:新城区,赛罕区;包头市:昆都仑区,青山区",
    "辽宁省|21|11|沈阳市:和平区,浑南区,铁西区;大连市:中山区,甘井子区",
    "吉林省|22|13|长春市:朝阳区,南关区;吉林市:船营区",
    "黑龙江省|23|15|哈尔滨市:南岗区,道里区,香坊区;齐齐哈尔市:龙沙区",
    "上海市|31|20|上海市:浦东新区,徐汇区,闵行区,静安区,宝山区",
    "江苏省|32|21|南京市:玄武区,鼓楼区,江宁区;苏州市:姑苏区,相城区,吴中区,昆山市;无锡市:梁溪区,滨湖区",
    "浙江省|33|31|杭州市:西湖区,上城区,余杭区,萧山区;宁波市:鄞州区,海曙区;温州市:鹿城区,瑞安市;金华市:义乌市",
    "安徽省|34|23|合肥市:蜀山区,包河区;芜湖市:镜湖区",
    "福建省|35|35|福州市:鼓楼区,仓山区;厦门市:思明区,湖里区;泉州市:晋江市,丰泽区",
    "江西省|36|33|南昌市:东湖区,红谷滩区;赣州市:章贡区",
    "山东省|37|25|济南市:历下区,槐荫区;青岛市:市南区,崂山区,黄岛区;临沂市:兰山区",
    "河南省|41|45|郑州市:金水区,二七区,中原区;洛阳市:洛龙区",
    "湖北省|42|43|武汉市:武昌区,洪山区,江汉区;宜昌市:西陵区",
    "湖南省|43|41|长沙市:岳麓区,芙蓉区,雨花区;株洲市:天元区",
    "广东省|44|51|广州市:天河区,越秀区,番禺区,白云区;深圳市:南山区,福田区,宝安区,龙岗区;东莞市:虎门镇,长安镇;佛山市:顺德区,南海区",
    "广西壮族自治区|45|53|南宁市:青秀区,西乡塘区;桂林市:七星区",
    "海南省|46|57|海口市:美兰区,龙华区;三亚市:吉阳区",
    "重庆市|50|40|重庆市:渝中区,江北区,渝北区,南岸区",
    "四川省|51|61|成都市:锦江区,武侯区,成华区,双流区;绵阳市:涪城区",
    "贵州省|52|55|贵阳市:云岩区,观山湖区;遵义市:红花岗区",
    "云南省|53|65|昆明市:五华区,盘龙区;大理白族自治州:大理市",
    "西藏自治区|54|85|拉萨市:城关区",
    "陕西省|61|71|西安市:雁塔区,碑林区,未央区;宝鸡市:渭滨区",
    "甘肃省|62|73|兰州市:城关区,七里河区",
    "青海省|63|81|西宁市:城西区,城东区",
    "宁夏回族自治区|64|75|银川市:兴庆区,金凤区",
    "新疆维吾尔自治区|65|83|乌鲁木齐市:天山区,沙依巴克区;喀什地区:喀什市",
];

const STREETS: &[&str] = &[
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "文化路",
    "和平路",
    "长江路",
    "黄河路",
    "新华街",
    "胜利街",
    "朝阳路",
    "幸福路",
    "学府路",
    "科技路",
    "民主路",
    "团结路",
    "光明街",
    "东风路",
    "青年路",
    "滨江大道",
];
const TOWNS: &[&str] = &[
    "城关街道",
    "新华街道",
    "东湖街道",
    "城南街道",
    "北苑街道",
    "开发区街道",
    "西街街道",
    "中心镇",
];
const ESTATES: &[&str] = &[
    "阳光花园",
    "锦绣家园",
    "幸福里小区",
    "万科城",
    "碧桂园",
    "翠苑三区",
    "保利花园",
    "绿地中心",
    "华润城",
    "金地格林小城",
    "世纪花园",
    "新城国际",
];
const BUILDINGS: &[&str] = &["创业大厦", "科技园", "国际商务中心", "财富广场", "软件园"];
const VILLAGES: &[&str] = &["张家村", "李庄村", "王营村", "新河村", "石桥村"];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "萧", "田", "董", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "沈", "姚",
    "卢", "欧阳", "司马", "覃", "莫",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "子涵", "浩然", "雨桐", "欣怡", "梓轩",
    "一诺", "思远", "建国", "红梅",
];
const MOBILE_PREFIX: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181",
    "182", "183", "185", "186", "187", "188", "189", "191", "193", "195", "198", "199",
];
/// Number-protection (隐私号) ranges are virtual-operator prefixes.
const VIRTUAL_PREFIX: &[&str] = &["170", "171", "162", "165", "167"];
const BUYER_NOTES: &[&str] = &[
    "请尽快发货，着急用",
    "不要放快递柜，送货上门谢谢",
    "发顺丰可以吗？可以补差价",
    "送人的，不要放价格单和发票",
    "周末不在家，请周一后派送",
    "颜色发黑色，谢谢老板",
    "生日礼物🎁 麻烦包装好一点 thanks",
    "电话打不通请放门卫室",
    "和上一单一起发",
    "地址写错了，应该是3单元不是2单元！！",
];
const SELLER_NOTES: &[&str] = &[
    "已备注赠品：试用装x2",
    "VIP客户，优先发",
    "缺货待补，先别发",
    "客户改地址，发货前核对",
    "换发中通",
    "合并发货",
];

struct Product {
    title: &'static str,
    code: &'static str,
    price: i64,
    specs: &'static [(&'static str, &'static [&'static str])],
}

const PRODUCTS: &[Product] = &[
    Product {
        title: "纯棉短袖T恤 男女同款",
        code: "TSH",
        price: 5900,
        specs: &[
            ("颜色", &["白色", "黑色", "雾霾蓝"]),
            ("尺码", &["S", "M", "L", "XL"]),
        ],
    },
    Product {
        title: "加厚羽绒服 冬季保暖外套",
        code: "DJK",
        price: 39900,
        specs: &[("颜色", &["黑色", "米白"]), ("尺码", &["M", "L", "XL"])],
    },
    Product {
        title: "云南高山小粒咖啡豆 500g",
        code: "COF",
        price: 8800,
        specs: &[("烘焙度", &["中烘", "深烘"])],
    },
    Product {
        title: "陶瓷马克杯 带盖带勺",
        code: "MUG",
        price: 3900,
        specs: &[("颜色", &["奶白", "雾蓝", "樱花粉"])],
    },
    Product {
        title: "无线蓝牙耳机 主动降噪版",
        code: "EAR",
        price: 19900,
        specs: &[("颜色", &["白色", "黑色"])],
    },
    Product {
        title: "手工红糖姜茶 12袋装",
        code: "TEA",
        price: 2990,
        specs: &[],
    },
    Product {
        title: "婴儿纯棉口水巾 6条装",
        code: "BIB",
        price: 4500,
        specs: &[("款式", &["混色", "纯白"])],
    },
    Product {
        title: "不锈钢保温杯 500ml",
        code: "CUP",
        price: 6900,
        specs: &[("颜色", &["银色", "墨绿", "烟粉"])],
    },
    Product {
        title: "宁夏枸杞 特级",
        code: "GOJ",
        price: 3500,
        specs: &[("规格", &["250g", "500g"])],
    },
    Product {
        title: "儿童绘本 全10册",
        code: "BOK",
        price: 9800,
        specs: &[],
    },
    Product {
        title: "瑜伽垫 加厚防滑",
        code: "YGM",
        price: 7900,
        specs: &[("厚度", &["6mm", "10mm"]), ("颜色", &["紫色", "灰色"])],
    },
    Product {
        title: "磨砂手机壳 iPhone 16 Pro",
        code: "CAS",
        price: 2900,
        specs: &[("颜色", &["黑", "透明", "紫"])],
    },
    Product {
        title: "洗衣凝珠 52颗",
        code: "DET",
        price: 4990,
        specs: &[("香型", &["花香", "清新"])],
    },
    Product {
        title: "五常大米 5kg",
        code: "RCE",
        price: 6990,
        specs: &[],
    },
    Product {
        title: "LED护眼台灯",
        code: "LMP",
        price: 12900,
        specs: &[("颜色", &["白色", "原木色"])],
    },
    Product {
        title: "帆布托特包",
        code: "BAG",
        price: 4900,
        specs: &[("颜色", &["米色", "黑色"])],
    },
    Product {
        title: "豆腐猫砂 6L×4包",
        code: "CAT",
        price: 8900,
        specs: &[("味道", &["原味", "绿茶", "水蜜桃"])],
    },
    Product {
        title: "潮汕手打牛肉丸 500g",
        code: "BFB",
        price: 5800,
        specs: &[("品种", &["牛肉丸", "牛筋丸"])],
    },
    Product {
        title: "全棉四件套 1.8m床",
        code: "BED",
        price: 25900,
        specs: &[("颜色", &["灰蓝", "米杏", "豆绿"])],
    },
    Product {
        title: "真丝眼罩 遮光睡眠",
        code: "EYE",
        price: 3900,
        specs: &[("颜色", &["香槟", "黑色"])],
    },
];

/// One platform SKU the shop sells.
#[derive(Clone, Debug)]
pub struct Sku {
    pub product_id: String,
    pub sku_id: String,
    pub sku_code: String,
    pub title: String,
    pub spec: Vec<(String, String)>,
    pub price_fen: i64,
}

/// What happens to an order later. Applied by the emulator when its clock passes `at_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The order becomes visible (it was placed, unpaid).
    Create,
    Pay,
    Cancel,
    AddressChange {
        receiver: Box<Receiver>,
    },
    SellerNote {
        note: String,
    },
    RefundRequest,
    RefundDone,
    /// One line of a multi-line order is refunded (仅退款 for one SKU); the rest still ships.
    LineRefund {
        line: usize,
    },
    Complete,
    /// The platform's risk review after payment is over; the order may ship.
    ReviewCleared,
    /// The buyer asks for an after-sale: 0 refund only, 1 return and refund, 2 exchange.
    AfterSaleOpen {
        as_kind: u8,
    },
    /// The buyer withdraws after-sale `n` (index into `State::aftersales`) if still open.
    AfterSaleWithdraw {
        n: usize,
    },
    /// The buyer sends the goods of after-sale `n` back.
    AfterSaleBuyerShips {
        n: usize,
    },
    /// The platform agrees after-sale `n` if the merchant has not decided.
    AfterSaleTimeout {
        n: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    pub at_ms: i64,
    pub order_id: String,
    pub event: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    pub orders: Vec<Order>,
    pub events: Vec<Scheduled>,
}

/// Inputs of one generation run; the same inputs always give the same output.
#[derive(Clone, Debug)]
pub struct GenParams {
    pub seed: u64,
    pub platform: Platform,
    pub count: usize,
    /// Unix seconds: history starts here...
    pub start_s: i64,
    /// ...and ends at the emulator's "now".
    pub now_s: i64,
    /// Follow-up events and a share of new orders land in `(now, now + future_s]`.
    pub future_s: i64,
    /// Share of `count` created after now (they arrive while the emulator runs).
    pub future_share: f64,
    /// Ordinary orders must ship within this long after payment (presale gets its own window).
    pub ship_within_secs: i64,
    /// Which shop of the platform (0-based); shop 0 keeps the single-shop output.
    pub shop: u32,
}

fn salt(p: Platform) -> u64 {
    match p {
        Platform::Wechat => 0x7765_6368,
        Platform::Douyin => 0x646f_7579,
        Platform::Xiaohongshu => 0x7868_7300,
    }
}

fn hex_id(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
        .collect()
}

/// The shop's catalogue on one platform (ids in that platform's style).
pub fn catalogue(seed: u64, platform: Platform) -> Vec<Sku> {
    let mut rng = Rng::new(seed ^ salt(platform) ^ 0xCA7A_1063);
    let mut out = Vec::new();
    for p in PRODUCTS {
        let product_id = match platform {
            Platform::Wechat => format!("1000{}", rng.digits(10)),
            Platform::Douyin => format!("35{}", rng.digits(17)),
            Platform::Xiaohongshu => hex_id(&mut rng, 24),
        };
        // Cartesian product of the spec values; products without specs have one SKU.
        let mut combos: Vec<Vec<(String, String)>> = vec![vec![]];
        for (k, vs) in p.specs {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    vs.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((k.to_string(), v.to_string()));
                        c
                    })
                })
                .collect();
        }
        for (i, spec) in combos.into_iter().enumerate() {
            let sku_id = match platform {
                Platform::Wechat => rng.digits(10),
                Platform::Douyin => format!("17{}", rng.digits(17)),
                Platform::Xiaohongshu => hex_id(&mut rng, 24),
            };
            // Some merchants never fill in their SKU codes; an OMS must cope.
            let sku_code = if rng.chance(0.08) {
                String::new()
            } else {
                format!("{}-{:02}", p.code, i + 1)
            };
            let price_fen = p.price + (i as i64 % 3) * 500;
            out.push(Sku {
                product_id: product_id.clone(),
                sku_id,
                sku_code,
                title: p.title.to_string(),
                spec,
                price_fen,
            });
        }
    }
    out
}

pub fn carriers_for(platform: Platform) -> &'static [&'static str] {
    // Carriers used for orders that were already shipped before the emulator started.
    match platform {
        Platform::Wechat => &["SF", "ZTO", "YTO", "YUNDA", "STO", "JTSD", "JD", "EMS"],
        Platform::Douyin => &[
            "shunfeng",
            "yuantong",
            "zhongtong",
            "yunda",
            "shentong",
            "jtexpress",
        ],
        Platform::Xiaohongshu => &[
            "shunfeng",
            "zto",
            "yuantong",
            "yunda",
            "shentong",
            "jtexpress",
        ],
    }
}

fn tracking_no(rng: &mut Rng, carrier: &str) -> String {
    match carrier {
        "SF" | "shunfeng" => format!("SF{}", rng.digits(13)),
        "JD" | "jd" => format!("JDVA{}", rng.digits(11)),
        "YTO" | "yuantong" => format!("YT{}", rng.digits(13)),
        "JTSD" | "jtexpress" => format!("JT{}", rng.digits(13)),
        "ZTO" | "zto" | "zhongtong" => format!("7{}", rng.digits(14)),
        "STO" | "shentong" => format!("77{}", rng.digits(12)),
        "EMS" => format!("98{}", rng.digits(11)),
        _ => format!("43{}", rng.digits(13)),
    }
}

fn person_name(rng: &mut Rng) -> String {
    let surname = *rng.pick(SURNAMES);
    match rng.below(100) {
        // Real buyers fill in whatever they like.
        0..=2 => format!("{surname}女士"),
        3..=5 => format!("{surname}先生"),
        6 => format!("小{surname}"),
        7 => format!("Amy {surname}"),
        _ => {
            let given = *rng.pick(GIVEN);
            if given.chars().count() == 1 && rng.chance(0.4) {
                format!(
                    "{surname}{given}{}",
                    rng.pick(GIVEN).chars().next().unwrap_or('一')
                )
            } else {
                format!("{surname}{given}")
            }
        }
    }
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

fn street_detail(rng: &mut Rng, province: &str, city: &str, district: &str) -> String {
    let street = *rng.pick(STREETS);
    let no = rng.range(1, 999);
    let mut d = match rng.below(6) {
        0 | 1 => format!(
            "{street}{no}号{}{}栋{}单元{}室",
            rng.pick(ESTATES),
            rng.range(1, 30),
            rng.range(1, 6),
            rng.range(101, 2804)
        ),
        2 => format!(
            "{}{}-{}-{}",
            rng.pick(ESTATES),
            rng.range(1, 30),
            rng.range(1, 6),
            rng.range(101, 2804)
        ),
        3 => format!(
            "{street}{no}号{}{}楼 前台",
            rng.pick(BUILDINGS),
            rng.range(2, 40)
        ),
        4 => format!(
            "{}{}组{}号",
            rng.pick(VILLAGES),
            rng.range(1, 12),
            rng.range(1, 80)
        ),
        _ => format!(
            "{street}与{}交叉口 {}B座{}",
            rng.pick(STREETS),
            rng.pick(BUILDINGS),
            rng.range(301, 1999)
        ),
    };
    // The mess real buyers type: repeated divisions, full-width digits, stray spaces, pickup hints.
    match rng.below(12) {
        0 => d = format!("{province}{city}{district}{d}"),
        1 => d = format!("{district} {d}"),
        2 => d = full_width(&d),
        3 => d = format!("{d}（放菜鸟驿站）"),
        4 => d = format!(" {d}，"),
        5 => d = d.replace('号', "號"),
        _ => {}
    }
    d
}

pub fn receiver(rng: &mut Rng, created_s: i64) -> Receiver {
    let line = *rng.pick(DIVISIONS);
    let mut parts = line.split('|');
    let province = parts.next().unwrap_or_default().to_string();
    let province_code = parts.next().unwrap_or_default().to_string();
    let postal = parts.next().unwrap_or_default().to_string();
    let cities: Vec<&str> = parts.next().unwrap_or_default().split(';').collect();
    let (city, districts) = rng.pick(&cities).split_once(':').unwrap_or(("", ""));
    let districts: Vec<&str> = districts.split(',').collect();
    let district = rng.pick(&districts).to_string();
    let town = if rng.chance(0.6) {
        rng.pick(TOWNS).to_string()
    } else {
        String::new()
    };
    let detail = street_detail(rng, &province, city, &district);
    let phone = format!("{}{}", rng.pick(MOBILE_PREFIX), rng.digits(8));
    let virtual_phone = rng.chance(0.3).then(|| VirtualPhone {
        number: format!("{}{}", rng.pick(VIRTUAL_PREFIX), rng.digits(8)),
        extension: rng.digits(4),
        expires_at: created_s + 30 * 86_400,
    });
    Receiver {
        name: person_name(rng),
        phone,
        virtual_phone,
        province,
        province_code,
        city: city.to_string(),
        district,
        town,
        detail,
        postal_code: format!("{postal}{}", rng.digits(4)),
    }
}

fn order_id(rng: &mut Rng, platform: Platform, seen: &mut HashSet<String>) -> String {
    loop {
        let id = match platform {
            Platform::Wechat => format!("37{}", rng.digits(17)),
            Platform::Douyin => format!("69{}", rng.digits(17)),
            Platform::Xiaohongshu => format!("P{}", rng.digits(18)),
        };
        if seen.insert(id.clone()) {
            return id;
        }
    }
}

/// Generates `count` orders for one platform's shop, and their scheduled follow-ups.
pub fn generate(p: &GenParams) -> Generated {
    let shop_salt = (p.shop as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut rng = Rng::new(p.seed ^ salt(p.platform) ^ shop_salt);
    let skus = catalogue(p.seed ^ shop_salt, p.platform);
    let mut seen = HashSet::new();
    let mut orders = Vec::with_capacity(p.count);
    let mut events = Vec::new();
    let future_n = ((p.count as f64) * p.future_share).round() as usize;
    for i in 0..p.count {
        let future = i >= p.count - future_n.min(p.count);
        let created_s = if future {
            rng.range(p.now_s + 1, p.now_s + p.future_s.max(2))
        } else {
            rng.range(p.start_s, p.now_s)
        };
        let (order, evs) = one_order(&mut rng, p, &skus, &mut seen, created_s);
        orders.push(order);
        events.extend(evs);
    }
    events.sort_by(|a, b| {
        a.at_ms
            .cmp(&b.at_ms)
            .then_with(|| a.order_id.cmp(&b.order_id))
    });
    Generated { orders, events }
}

fn one_order(
    rng: &mut Rng,
    p: &GenParams,
    skus: &[Sku],
    seen: &mut HashSet<String>,
    created_s: i64,
) -> (Order, Vec<Scheduled>) {
    let id = order_id(rng, p.platform, seen);
    let now_ms = p.now_s * 1000;
    let created_ms = created_s * 1000 + rng.range(0, 1000);
    let n_lines = match rng.below(100) {
        0..=59 => 1,
        60..=84 => 2,
        85..=94 => 3,
        _ => 4,
    };
    let mut lines: Vec<Line> = Vec::new();
    while lines.len() < n_lines {
        let sku = rng.pick(skus);
        if lines.iter().any(|l| l.sku_id == sku.sku_id) {
            continue;
        }
        let qty = if rng.chance(0.8) {
            1
        } else {
            rng.range(2, 4) as u32
        };
        let gross = sku.price_fen * qty as i64;
        let discount = if rng.chance(0.3) {
            gross * rng.range(1, 11) / 100
        } else {
            0
        };
        let line_id = match p.platform {
            Platform::Wechat => format!("{id}_{:03}", lines.len() + 1),
            Platform::Douyin => format!("69{}", rng.digits(17)),
            Platform::Xiaohongshu => format!("{id}-{}", lines.len() + 1),
        };
        lines.push(Line {
            line_id,
            product_id: sku.product_id.clone(),
            sku_id: sku.sku_id.clone(),
            sku_code: sku.sku_code.clone(),
            title: sku.title.clone(),
            spec: sku.spec.clone(),
            qty,
            unit_price_fen: sku.price_fen,
            paid_fen: gross - discount,
            shipped_qty: 0,
            refunded: false,
        });
    }
    let discount_fen = lines
        .iter()
        .map(|l| l.unit_price_fen * l.qty as i64 - l.paid_fen)
        .sum();
    let freight_fen = if rng.chance(0.7) {
        0
    } else {
        *rng.pick(&[600, 800, 1000, 1200])
    };
    let presale = match rng.below(100) {
        0..=5 => Presale::FullPayment,
        6..=7 => Presale::Deposit,
        _ => Presale::None,
    };
    let first_receiver = receiver(rng, created_s);
    let buyer_note = if rng.chance(0.25) {
        rng.pick(BUYER_NOTES).to_string()
    } else {
        String::new()
    };
    let seller_note = if rng.chance(0.12) {
        rng.pick(SELLER_NOTES).to_string()
    } else {
        String::new()
    };
    let seller_flag = if seller_note.is_empty() {
        0
    } else {
        rng.range(1, 7) as u8
    };
    let buyer_id = match p.platform {
        Platform::Wechat => format!("o{}", hex_id(rng, 27)),
        Platform::Douyin => rng.digits(16),
        Platform::Xiaohongshu => hex_id(rng, 24),
    };
    let mut o = Order {
        platform: p.platform,
        shop: p.shop,
        order_id: id.clone(),
        buyer_id,
        created_ms,
        paid_ms: None,
        updated_ms: created_ms,
        cancelled_ms: None,
        finished_ms: None,
        ship_deadline_ms: 0,
        presale,
        presale_window_ms: None,
        lines,
        freight_fen,
        discount_fen,
        receiver: first_receiver,
        address_version: 0,
        buyer_note,
        seller_note,
        seller_flag,
        status: Status::Unpaid,
        refund: Refund::None,
        shipments: Vec::new(),
        negotiations: 0,
        delivery_changes: 0,
        after_sales: Vec::new(),
    };
    let mut ev = Vec::new();
    let at = |at_ms: i64, event: EventKind| Scheduled {
        at_ms,
        order_id: id.clone(),
        event,
    };
    let pay_delay = rng.range(10_000, 600_000);

    if created_ms > now_ms {
        // A new order that arrives while the emulator runs.
        ev.push(at(created_ms, EventKind::Create));
        if rng.chance(0.9) {
            ev.push(at(created_ms + pay_delay, EventKind::Pay));
        } else {
            ev.push(at(created_ms + 900_000, EventKind::Cancel));
        }
        return (o, ev);
    }

    let age_ms = now_ms - created_ms;
    let roll = rng.below(100);
    if age_ms < 1_800_000 && roll < 30 {
        // Still unpaid: it will be paid or time out soon.
        if rng.chance(0.8) {
            ev.push(at(
                (created_ms + pay_delay).max(now_ms + 1000),
                EventKind::Pay,
            ));
        } else {
            ev.push(at(
                (created_ms + 1_800_000).max(now_ms + 1000),
                EventKind::Cancel,
            ));
        }
        return (o, ev);
    }
    if roll < 5 {
        let t = (created_ms + rng.range(300_000, 1_800_000)).min(now_ms);
        o.status = Status::Cancelled;
        o.cancelled_ms = Some(t);
        o.updated_ms = t;
        return (o, ev);
    }
    let paid = (created_ms + pay_delay).min(now_ms);
    pay(&mut o, paid, rng, p.ship_within_secs * 1000);
    let r = rng.below(100);
    if age_ms > 86_400_000 && r < 35 {
        // Shipped earlier by the merchant's previous tool.
        let carrier = *rng.pick(carriers_for(p.platform));
        let t = (paid + rng.range(3_600_000, 86_400_000)).min(now_ms);
        let items: Vec<(usize, u32)> = o
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.qty))
            .collect();
        for l in o.lines.iter_mut() {
            l.shipped_qty = l.qty;
        }
        o.shipments.push(Shipment {
            carrier: carrier.to_string(),
            tracking_no: tracking_no(rng, carrier),
            at_ms: t,
            items,
        });
        o.status = Status::Shipped;
        o.updated_ms = t;
        if age_ms > 2 * 86_400_000 && rng.chance(0.3) {
            let f = (t + rng.range(86_400_000, 2 * 86_400_000)).min(now_ms);
            o.status = Status::Completed;
            o.finished_ms = Some(f);
            o.updated_ms = f;
        }
        return (o, ev);
    }
    if r < 38 {
        let t = (paid + rng.range(600_000, 7_200_000)).min(now_ms);
        refund_all(&mut o, t);
        return (o, ev);
    }
    if r < 41 {
        o.refund = Refund::Requested;
        o.updated_ms = (paid + rng.range(60_000, 3_600_000)).min(now_ms);
        ev.push(at(
            now_ms + rng.range(60_000, p.future_s.max(120) * 1000),
            EventKind::RefundDone,
        ));
        return (o, ev);
    }
    if r < 46 && o.lines.len() > 1 {
        // One SKU of this order was refunded before now; the others still wait to ship.
        let line = rng.below(o.lines.len() as u64) as usize;
        o.lines[line].refunded = true;
        o.updated_ms = (paid + rng.range(60_000, 3_600_000)).min(now_ms);
    } else if r < 44 {
        // The buyer already changed the address once before now.
        o.receiver = receiver(rng, created_s);
        o.address_version = 1;
        o.updated_ms = (paid + rng.range(60_000, 3_600_000)).min(now_ms);
    }
    // Follow-ups while the emulator runs, on orders still waiting to ship.
    let fut = |rng: &mut Rng| now_ms + rng.range(1000, p.future_s.max(2) * 1000);
    match rng.below(100) {
        0..=4 => {
            let r = receiver(rng, created_s);
            ev.push(at(
                fut(rng),
                EventKind::AddressChange {
                    receiver: Box::new(r),
                },
            ));
        }
        5..=9 => {
            let note = rng.pick(SELLER_NOTES).to_string();
            ev.push(at(fut(rng), EventKind::SellerNote { note }));
        }
        10..=11 => {
            let t = fut(rng);
            ev.push(at(t, EventKind::RefundRequest));
            ev.push(at(t + 600_000, EventKind::RefundDone));
        }
        12..=15 if o.lines.len() > 1 => {
            let line = rng.below(o.lines.len() as u64) as usize;
            ev.push(at(fut(rng), EventKind::LineRefund { line }));
        }
        _ => {}
    }
    (o, ev)
}

/// Marks an order paid and sets its ship-by deadline (`ship_within_ms`; presale promises later).
pub fn pay(o: &mut Order, at_ms: i64, rng: &mut Rng, ship_within_ms: i64) {
    o.paid_ms = Some(at_ms);
    o.status = Status::ToShip;
    o.updated_ms = at_ms;
    o.ship_deadline_ms = match o.presale {
        Presale::None => at_ms + ship_within_ms,
        _ => {
            let start = at_ms + rng.range(3, 15) * 86_400_000;
            let end = start + rng.range(2, 15) * 86_400_000;
            o.presale_window_ms = Some((start, end));
            end
        }
    };
}

pub fn refund_all(o: &mut Order, at_ms: i64) {
    for l in o.lines.iter_mut() {
        l.refunded = true;
    }
    o.refund = Refund::Refunded;
    o.status = Status::Closed;
    o.cancelled_ms = Some(at_ms);
    o.updated_ms = at_ms;
}

/// Tracking numbers for historic shipments; exposed so tests can make plausible ones.
pub fn sample_tracking_no(rng: &mut Rng, carrier: &str) -> String {
    tracking_no(rng, carrier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(seed: u64, platform: Platform) -> GenParams {
        GenParams {
            seed,
            platform,
            count: 300,
            start_s: 1_700_000_000,
            now_s: 1_700_259_200,
            future_s: 3600,
            future_share: 0.1,
            ship_within_secs: 48 * 3600,
            shop: 0,
        }
    }

    #[test]
    fn same_seed_same_orders() {
        for p in Platform::ALL {
            let a = generate(&params(7, p));
            let b = generate(&params(7, p));
            assert_eq!(a, b);
            let c = generate(&params(8, p));
            assert_ne!(a.orders, c.orders);
        }
    }

    #[test]
    fn orders_are_varied_and_consistent() {
        let g = generate(&params(42, Platform::Douyin));
        assert_eq!(g.orders.len(), 300);
        let ids: HashSet<_> = g.orders.iter().map(|o| &o.order_id).collect();
        assert_eq!(ids.len(), 300);
        assert!(g.orders.iter().any(|o| o.lines.len() > 1));
        assert!(g.orders.iter().any(|o| o.presale != Presale::None));
        assert!(g.orders.iter().any(|o| !o.buyer_note.is_empty()));
        assert!(g.orders.iter().any(|o| o.receiver.virtual_phone.is_some()));
        assert!(g.orders.iter().any(|o| o.status == Status::Shipped));
        assert!(g.orders.iter().any(|o| o.status == Status::Cancelled));
        assert!(
            g.events
                .iter()
                .any(|e| matches!(e.event, EventKind::AddressChange { .. }))
        );
        let provinces: HashSet<_> = g
            .orders
            .iter()
            .map(|o| o.receiver.province.clone())
            .collect();
        assert!(
            provinces.len() > 25,
            "addresses spread over provinces: {}",
            provinces.len()
        );
        for o in &g.orders {
            assert_eq!(o.discount_fen, o.goods_fen() - o.paid_goods_fen());
            assert!(o.updated_ms >= o.created_ms);
        }
    }

    #[test]
    fn every_province_is_reachable() {
        let mut rng = Rng::new(1);
        let seen: HashSet<String> = (0..5000).map(|_| receiver(&mut rng, 0).province).collect();
        assert_eq!(seen.len(), DIVISIONS.len());
    }
}

//! Deterministic sample labels and pick lines for demos, benchmarks and tests.
//!
//! Waybill numbers follow the carriers' current formats as recorded in
//! `shared/reference/address-and-tracking.md` (SF + 13 digits, ZTO 14 digits from 73–76/78,
//! YT + 13 digits, STO 15 digits from 77, Yunda 15 digits from 3/4, JD + 2 + 11, JT + 13,
//! EMS 13 digits). Addresses mix ordinary and deliberately long ones, so wrapping gets
//! exercised; a few names use characters outside GB 2312 that the font subset keeps.

use std::sync::Arc;

use crate::model::{Party, ShippingLabel};
use crate::picklist::PickLine;

/// splitmix64: tiny, fast and stable across platforms and releases, unlike `rand`'s
/// unspecified generators, so a seed always gives the same labels.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

struct Carrier {
    name: &'static str,
    number: fn(&mut Rng) -> String,
}

const CARRIERS: &[Carrier] = &[
    Carrier {
        name: "顺丰速运",
        number: |r| format!("SF{}", r.digits(13)),
    },
    Carrier {
        name: "中通快递",
        number: |r| format!("{}{}", r.pick(&["73", "75", "76", "78"]), r.digits(12)),
    },
    Carrier {
        name: "圆通速递",
        number: |r| format!("YT{}", r.digits(13)),
    },
    Carrier {
        name: "申通快递",
        number: |r| format!("77{}", r.digits(13)),
    },
    Carrier {
        name: "韵达快递",
        number: |r| format!("{}{}", r.pick(&["3", "4"]), r.digits(14)),
    },
    Carrier {
        name: "京东快递",
        number: |r| format!("JD{}{}", r.pick(&["VA", "VB", "VC", "X0"]), r.digits(11)),
    },
    Carrier {
        name: "极兔速递",
        number: |r| format!("JT{}", r.digits(13)),
    },
    Carrier {
        name: "EMS",
        number: |r| format!("{}{}", r.pick(&["10", "11", "98"]), r.digits(11)),
    },
];

/// (province, city, [districts], hub, area code for 三段码)
const PLACES: &[(&str, &str, &[&str], &str, &str)] = &[
    (
        "浙江省",
        "杭州市",
        &["西湖区", "余杭区", "滨江区", "拱墅区"],
        "杭州转运中心",
        "571",
    ),
    (
        "上海市",
        "上海市",
        &["浦东新区", "徐汇区", "闵行区", "静安区"],
        "上海华新转运中心",
        "021",
    ),
    (
        "北京市",
        "北京市",
        &["朝阳区", "海淀区", "丰台区", "通州区"],
        "北京顺义集散中心",
        "010",
    ),
    (
        "广东省",
        "深圳市",
        &["南山区", "宝安区", "龙岗区", "福田区"],
        "深圳华南转运中心",
        "755",
    ),
    (
        "广东省",
        "广州市",
        &["天河区", "白云区", "番禺区", "越秀区"],
        "广州白云集包",
        "020",
    ),
    (
        "四川省",
        "成都市",
        &["武侯区", "锦江区", "双流区", "郫都区"],
        "成都双流转运中心",
        "028",
    ),
    (
        "江苏省",
        "南京市",
        &["鼓楼区", "江宁区", "玄武区", "建邺区"],
        "南京江宁转运中心",
        "025",
    ),
    (
        "湖北省",
        "武汉市",
        &["洪山区", "江汉区", "武昌区", "东西湖区"],
        "武汉东西湖集散中心",
        "027",
    ),
    (
        "新疆维吾尔自治区",
        "伊犁哈萨克自治州",
        &["伊宁市", "奎屯市", "霍城县"],
        "乌鲁木齐转运中心",
        "999",
    ),
    (
        "内蒙古自治区",
        "呼伦贝尔市",
        &["海拉尔区", "满洲里市", "鄂温克族自治旗"],
        "呼和浩特转运中心",
        "470",
    ),
    (
        "广西壮族自治区",
        "南宁市",
        &["青秀区", "西乡塘区", "邕宁区"],
        "南宁转运中心",
        "771",
    ),
    (
        "河南省",
        "郑州市",
        &["金水区", "中原区", "郑东新区"],
        "郑州航空港集包",
        "371",
    ),
];

const STREETS: &[&str] = &[
    "文三路",
    "人民路",
    "解放西路",
    "中山北路",
    "建设大道",
    "科技园南区高新南七道",
    "长江东路",
    "学院路",
    "紫荆花路",
    "滨河大道",
    "延安西路",
    "光明街道幸福里",
    "莫干山路",
    "天府大道北段",
];

const PLACES_DETAIL: &[&str] = &[
    "阳光花园",
    "金色家园",
    "万科城市之光",
    "保利中央公园",
    "绿城桂花园",
    "华润置地广场",
    "世纪新城",
    "碧桂园凤凰城",
];

const NOTES: &[&str] = &[
    "（放菜鸟驿站，到了打电话）",
    "，工作日白天家里没人请放门卫室或丰巢快递柜，周末可送货上门，谢谢师傅",
    "（公司前台代收，午休时间12:00-13:30请勿送达）",
    "东门岗亭旁边的快递代收点，联系不上请放物业",
];

const SURNAMES: &[&str] = &[
    "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "欧阳", "司马", "诸葛", "慕容",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "俊杰", "晓明", "雨涵", "子轩",
    "喆", "昊天", "淼", "一诺",
];

const PRODUCTS: &[(&str, &[&str])] = &[
    ("纯棉短袖T恤", &["白色 L", "黑色 XL", "灰色 M"]),
    ("法式碎花连衣裙", &["S", "M", "L"]),
    ("手工红糖姜茶", &["10袋装", "20袋装"]),
    ("陶瓷马克杯", &["350ml 雾蓝", "350ml 奶白"]),
    ("无线蓝牙耳机", &["标准版", "降噪版"]),
    ("有机蓝莓鲜果", &["125g×4盒"]),
    ("玻璃香薰蜡烛", &["雪松", "白茶"]),
    ("儿童绘本套装", &["全8册"]),
];

/// `count` realistic labels, always the same for the same `seed`.
pub fn sample_labels(count: usize, seed: u64) -> Vec<ShippingLabel> {
    let mut r = Rng(seed ^ 0x6661_6875_6f00_0001);
    let logo = sample_logo_png();
    (0..count).map(|i| sample_label(&mut r, i, &logo)).collect()
}

fn person(r: &mut Rng) -> String {
    let given = if r.chance(20) {
        format!("{}{}", r.pick(GIVEN), r.pick(GIVEN))
    } else {
        r.pick(GIVEN).to_string()
    };
    format!("{}{}", r.pick(SURNAMES), given)
}

fn masked_phone(r: &mut Rng) -> String {
    format!(
        "1{}{}****{}",
        r.pick(&["3", "5", "7", "8", "9"]),
        r.digits(1),
        r.digits(4)
    )
}

fn address(r: &mut Rng, long: bool) -> (String, usize) {
    let p = r.below(PLACES.len());
    let (prov, city, districts, _, _) = PLACES[p];
    let city = if prov == city {
        String::new()
    } else {
        city.to_owned()
    };
    let mut a = format!(
        "{prov}{city}{}{}{}号{}{}栋{}单元{}室",
        r.pick(districts),
        r.pick(STREETS),
        1 + r.below(999),
        r.pick(PLACES_DETAIL),
        1 + r.below(30),
        1 + r.below(6),
        format_args!("{}{:02}", 1 + r.below(33), 1 + r.below(8)),
    );
    if long {
        let note: &&str = r.pick(NOTES);
        a.push_str(note);
    }
    (a, p)
}

fn sample_label(r: &mut Rng, i: usize, logo: &Arc<[u8]>) -> ShippingLabel {
    let carrier = r.pick(CARRIERS);
    let waybill_no = (carrier.number)(r);
    let long = r.chance(15);
    let (address, place) = address(r, long);
    let (_, city, districts, hub, area) = PLACES[place];
    let sort_code = if r.chance(50) {
        format!(
            "{area}-{}{:02} {:02}",
            char::from(b'A' + r.below(26) as u8),
            r.below(100),
            r.below(100)
        )
    } else {
        let short_city = city.trim_end_matches('市');
        let short_city = short_city.chars().take(4).collect::<String>();
        let d = r.pick(districts);
        let d = d
            .strip_suffix("新区")
            .or_else(|| d.strip_suffix(['区', '县', '市']))
            .unwrap_or(d);
        let d = d.chars().take(4).collect::<String>();
        format!(
            "{short_city} {d} {}{:02}",
            char::from(b'A' + r.below(8) as u8),
            r.below(100)
        )
    };
    let n_items = 1 + r.below(if long { 6 } else { 3 });
    let items = (0..n_items)
        .map(|_| {
            let (name, specs) = r.pick(PRODUCTS);
            format!("{name} {} ×{}", r.pick(specs), 1 + r.below(3))
        })
        .collect::<Vec<_>>()
        .join("；");
    let shop = r.below(3);
    ShippingLabel {
        carrier_name: carrier.name.to_owned(),
        waybill_no,
        qr_payload: None,
        sort_code,
        hub: Some(hub.to_owned()),
        receiver: Party {
            name: person(r),
            phone: masked_phone(r),
            address,
        },
        sender: Party {
            name: ["小满生活馆", "青禾优选", "木子家居旗舰店"][shop].to_owned(),
            phone: "400-820-8820".to_owned(),
            address: [
                "浙江省杭州市余杭区仓前街道良睦路1288号梦想小镇仓库3号门",
                "广东省广州市白云区太和镇物流园B区12仓",
                "四川省成都市双流区西航港大道中段888号",
            ][shop]
                .to_owned(),
        },
        items,
        order_ref: Some(format!("订单 {}", r.digits(19))),
        logo_png: (shop == 0).then(|| logo.clone()),
        promo: (shop != 2).then(|| "好评晒图返 5 元，关注店铺上新早知道".to_owned()),
        cold_chain: r.chance(8),
        fragile: r.chance(10),
        reprint: if r.chance(5) {
            1 + r.below(3) as u32
        } else {
            0
        },
        print_job_id: format!("PJ{:08}-{:04}", 20261122 + (i / 1000) as u64, i % 10_000),
    }
}

/// Sample pick-list input: `orders` orders of one to three lines over a few dozen SKUs/bins.
pub fn sample_pick_lines(orders: usize, seed: u64) -> Vec<PickLine> {
    let mut r = Rng(seed ^ 0x7069_636b_0000_0002);
    let mut lines = Vec::new();
    for o in 0..orders {
        let order_no = format!("DY{}{:06}", 3_700_000 + seed % 1000, o);
        for _ in 0..1 + r.below(3) {
            let p = r.below(PRODUCTS.len());
            let (name, specs) = PRODUCTS[p];
            let v = r.below(specs.len());
            lines.push(PickLine {
                bin: format!(
                    "{}-{:02}-{:02}",
                    char::from(b'A' + (p % 4) as u8),
                    1 + p,
                    1 + v
                ),
                sku_code: format!("SKU{:03}{:02}", p + 1, v + 1),
                name: format!("{name} {}", specs[v]),
                barcode: format!("69{:011}", (p * 10 + v) * 7919 + 1_000_000),
                quantity: 1 + r.below(3) as u32,
                order_no: order_no.clone(),
            });
        }
    }
    lines
}

/// A small generated monochrome logo (the word is drawn by the label as text; this is only
/// a mark), so samples show where a merchant logo goes. Encoded by hand as a PNG with
/// stored deflate blocks, to avoid an encoder dependency for a demo asset.
pub(crate) fn sample_logo_png() -> Arc<[u8]> {
    let (w, h) = (96u32, 32u32);
    let mut raw = Vec::with_capacity(((w + 1) * h) as usize);
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            // a rounded frame with three leaves inside
            let border = x < 2 || y < 2 || x >= w - 2 || y >= h - 2;
            let cx = (x % 32) as i32 - 16;
            let cy = y as i32 - 16;
            let leaf = cx * cx + 2 * cy * cy < 110 && (cx + cy).abs() > 1;
            raw.push(if border || leaf { 0 } else { 255 });
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png.into()
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, b) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(b);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_labels_and_another_seed_differs() {
        assert_eq!(sample_labels(20, 7), sample_labels(20, 7));
        assert_ne!(
            sample_labels(5, 7)[0].waybill_no,
            sample_labels(5, 8)[0].waybill_no
        );
    }

    #[test]
    fn waybill_numbers_follow_carrier_formats() {
        for l in sample_labels(300, 1) {
            let n = &l.waybill_no;
            let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
            let ok = match l.carrier_name.as_str() {
                "顺丰速运" => n.len() == 15 && n.starts_with("SF") && digits(&n[2..]),
                "中通快递" => {
                    n.len() == 14 && digits(n) && ["73", "75", "76", "78"].contains(&&n[..2])
                }
                "圆通速递" => n.len() == 15 && n.starts_with("YT") && digits(&n[2..]),
                "申通快递" => n.len() == 15 && n.starts_with("77") && digits(n),
                "韵达快递" => {
                    n.len() == 15 && digits(n) && (n.starts_with('3') || n.starts_with('4'))
                }
                "京东快递" => n.len() == 15 && n.starts_with("JD") && digits(&n[4..]),
                "极兔速递" => n.len() == 15 && n.starts_with("JT") && digits(&n[2..]),
                "EMS" => n.len() == 13 && digits(n),
                other => panic!("unexpected carrier {other}"),
            };
            assert!(ok, "{} {n}", l.carrier_name);
        }
    }

    #[test]
    fn samples_include_long_addresses_and_masked_phones() {
        let labels = sample_labels(200, 3);
        assert!(
            labels
                .iter()
                .any(|l| l.receiver.address.chars().count() > 60)
        );
        assert!(labels.iter().all(|l| l.receiver.phone.contains("****")));
    }

    #[test]
    fn the_generated_logo_is_a_valid_png_header() {
        let png = sample_logo_png();
        assert_eq!(crate::layout::png_size(&png), Some((96, 32)));
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}

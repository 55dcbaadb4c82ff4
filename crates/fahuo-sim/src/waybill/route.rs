//! Sort codes (三段码 / 大头笔) and hubs (集包地) derived from an address.
//!
//! Real carriers look these up in their own network tables; the emulator only needs answers that
//! are stable (the same address gets the same code from the same carrier), plausible (a package for
//! 杭州 goes through a 杭州 hub) and different between carriers, so it derives them from a small
//! table of provincial hubs and a hash of the address parts.

use crate::waybill::carrier::Carrier;

/// (province short name, hub city, long-distance area code without the leading 0).
const PROVINCES: &[(&str, &str, &str)] = &[
    ("北京", "北京", "10"),
    ("天津", "天津", "22"),
    ("河北", "石家庄", "311"),
    ("山西", "太原", "351"),
    ("内蒙古", "呼和浩特", "471"),
    ("辽宁", "沈阳", "24"),
    ("吉林", "长春", "431"),
    ("黑龙江", "哈尔滨", "451"),
    ("上海", "上海", "21"),
    ("江苏", "南京", "25"),
    ("浙江", "杭州", "571"),
    ("安徽", "合肥", "551"),
    ("福建", "福州", "591"),
    ("江西", "南昌", "791"),
    ("山东", "济南", "531"),
    ("河南", "郑州", "371"),
    ("湖北", "武汉", "27"),
    ("湖南", "长沙", "731"),
    ("广东", "广州", "20"),
    ("广西", "南宁", "771"),
    ("海南", "海口", "898"),
    ("重庆", "重庆", "23"),
    ("四川", "成都", "28"),
    ("贵州", "贵阳", "851"),
    ("云南", "昆明", "871"),
    ("西藏", "拉萨", "891"),
    ("陕西", "西安", "29"),
    ("甘肃", "兰州", "931"),
    ("青海", "西宁", "971"),
    ("宁夏", "银川", "951"),
    ("新疆", "乌鲁木齐", "991"),
];

/// Cities big enough to have their own hub: (city short name, area code).
const CITY_HUBS: &[(&str, &str)] = &[
    ("深圳", "755"),
    ("东莞", "769"),
    ("佛山", "757"),
    ("苏州", "512"),
    ("无锡", "510"),
    ("宁波", "574"),
    ("温州", "577"),
    ("金华", "579"),
    ("义乌", "579"),
    ("青岛", "532"),
    ("厦门", "592"),
    ("泉州", "595"),
    ("大连", "411"),
];

/// The parts of an address that routing looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    pub province: String,
    pub city: String,
    pub district: String,
}

impl Place {
    pub fn new(province: &str, city: &str, district: &str) -> Place {
        Place {
            province: province.trim().to_string(),
            city: city.trim().to_string(),
            district: district.trim().to_string(),
        }
    }

    /// Best effort from a one-line address (kuaidi100's `printAddr`): the province named first, a
    /// hub city if one is named, and the text up to the first 区/县 as the district.
    pub fn from_text(addr: &str) -> Place {
        let addr = addr.trim();
        let province = PROVINCES
            .iter()
            .filter_map(|(p, _, _)| addr.find(p).map(|i| (i, *p)))
            .min()
            .map(|(_, p)| p.to_string())
            .unwrap_or_default();
        let city = CITY_HUBS
            .iter()
            .map(|(c, _)| *c)
            .chain(PROVINCES.iter().map(|(_, c, _)| *c))
            .filter_map(|c| addr.find(c).map(|i| (i, c)))
            .min()
            .map(|(_, c)| c.to_string())
            .unwrap_or_default();
        let district: String = match addr.char_indices().find(|(_, c)| matches!(c, '区' | '县')) {
            Some((i, c)) => addr[..i + c.len_utf8()].to_string(),
            None => addr.chars().take(8).collect(),
        };
        Place {
            province,
            city,
            district,
        }
    }
}

/// Where a package is sorted: the code printed large on the label and the hub it is bagged for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Three segments, `NNN-LNN-NN` (destination centre, delivery area, station).
    pub sort_code: String,
    pub hub: String,
    pub hub_code: String,
}

fn strip_suffix(name: &str) -> &str {
    for s in [
        "维吾尔自治区",
        "壮族自治区",
        "回族自治区",
        "自治区",
        "特别行政区",
        "省",
        "市",
    ] {
        if let Some(x) = name.strip_suffix(s) {
            return x;
        }
    }
    name
}

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between Rust releases).
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The hub city and its area code for a place; `None` when the province is not recognised.
fn hub_city(place: &Place) -> Option<(&'static str, &'static str)> {
    let city = strip_suffix(&place.city);
    if let Some((c, code)) = CITY_HUBS
        .iter()
        .find(|(c, _)| !city.is_empty() && city.starts_with(c))
    {
        return Some((c, code));
    }
    let province = strip_suffix(&place.province);
    PROVINCES
        .iter()
        .find(|(p, _, _)| !province.is_empty() && province.starts_with(p))
        .map(|(_, c, code)| (*c, *code))
}

pub fn route(carrier: Carrier, place: &Place) -> Route {
    let codes = carrier.codes();
    let (hub, hub_code) = match hub_city(place) {
        Some((city, code)) => (format!("{city}{}", codes.hub_word), code.to_string()),
        // An address the table does not place still gets sorted, at the national centre.
        None => (format!("全国{}", codes.hub_word), "0".to_string()),
    };
    let c = codes.kdniao;
    let first = 100 + fnv(&[c, &hub_code]) % 900;
    let area = fnv(&[c, &hub_code, strip_suffix(&place.city), &place.district]);
    let second = format!(
        "{}{:02}",
        char::from(b'A' + (area % 8) as u8),
        (area >> 8) % 100
    );
    let third = fnv(&[c, &place.district, &place.city]) % 100;
    Route {
        sort_code: format!("{first:03}-{second}-{third:02}"),
        hub,
        hub_code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_address_same_route_and_hubs_follow_the_city() {
        let p = Place::new("浙江省", "杭州市", "西湖区");
        let a = route(Carrier::Zto, &p);
        assert_eq!(a, route(Carrier::Zto, &p));
        assert_eq!(a.hub, "杭州转运中心");
        assert_eq!(a.hub_code, "571");
        let b = route(Carrier::Zto, &Place::new("广东省", "深圳市", "南山区"));
        assert_eq!(b.hub, "深圳转运中心");
        assert_eq!(route(Carrier::Sf, &p).hub, "杭州中转场");
        let parts: Vec<&str> = a.sort_code.split('-').collect();
        assert_eq!(parts.len(), 3, "{}", a.sort_code);
        assert_eq!(parts[0].len(), 3);
        assert_eq!(parts[1].len(), 3);
        assert_eq!(parts[2].len(), 2);
    }

    #[test]
    fn one_line_addresses() {
        let p = Place::from_text("浙江省杭州市西湖区文三路90号");
        assert_eq!(p.province, "浙江");
        assert_eq!(p.city, "杭州");
        assert_eq!(p.district, "浙江省杭州市西湖区");
        assert_eq!(route(Carrier::Yto, &p).hub, "杭州转运中心");
        // A road named after another province does not win over the real one named first.
        let q = Place::from_text("广东省广州市天河区北京路1号");
        assert_eq!(route(Carrier::Yto, &q).hub, "广州转运中心");
        assert_eq!(
            route(Carrier::Yto, &Place::from_text("某地")).hub,
            "全国转运中心"
        );
    }
}

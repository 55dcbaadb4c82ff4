//! The carriers the e-waybill emulators issue numbers for: their codes in each API's namespace
//! and their tracking-number formats.
//!
//! Formats follow `reference/address-and-tracking.md` §4.1 (prefix, length) and §4.2 (the UPU S10
//! check digit for EMS); the codes follow §5 and `platform-apis.md` §4.4. The generator is written
//! here from those tables and shares no code with fahuo's own validator on purpose: fahuo checks
//! these numbers with its own rules, and two independent readings of the reference must agree.

use crate::util::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Carrier {
    Sf,
    Zto,
    Yto,
    Yunda,
    Sto,
    Jd,
    Ems,
    /// 邮政包裹 (China Post domestic parcels), apart from EMS in the aggregators' namespaces.
    Yzpy,
    Jtsd,
    Dbkd,
}

/// One carrier's names. `wechat` is `None` where WeChat's `delivery_id` table has no entry.
pub struct CarrierCodes {
    pub carrier: Carrier,
    pub name: &'static str,
    pub wechat: Option<&'static str>,
    pub kuaidi100: &'static str,
    pub kdniao: &'static str,
    /// 直营 (company-run) carriers; the others are franchise networks (加盟). WeChat reports it as
    /// `company_type` 2 / 1.
    pub direct: bool,
    /// What the carrier calls its sorting hubs, for the hub name (集包地).
    pub hub_word: &'static str,
}

pub const CARRIERS: &[CarrierCodes] = &[
    CarrierCodes {
        carrier: Carrier::Sf,
        name: "顺丰速运",
        wechat: Some("SF"),
        kuaidi100: "shunfeng",
        kdniao: "SF",
        direct: true,
        hub_word: "中转场",
    },
    CarrierCodes {
        carrier: Carrier::Zto,
        name: "中通快递",
        wechat: Some("ZTO"),
        kuaidi100: "zhongtong",
        kdniao: "ZTO",
        direct: false,
        hub_word: "转运中心",
    },
    CarrierCodes {
        carrier: Carrier::Yto,
        name: "圆通速递",
        wechat: Some("YTO"),
        kuaidi100: "yuantong",
        kdniao: "YTO",
        direct: false,
        hub_word: "转运中心",
    },
    CarrierCodes {
        carrier: Carrier::Yunda,
        name: "韵达快递",
        wechat: Some("YUNDA"),
        kuaidi100: "yunda",
        kdniao: "YD",
        direct: false,
        hub_word: "分拨中心",
    },
    CarrierCodes {
        carrier: Carrier::Sto,
        name: "申通快递",
        wechat: Some("STO"),
        kuaidi100: "shentong",
        kdniao: "STO",
        direct: false,
        hub_word: "转运中心",
    },
    CarrierCodes {
        carrier: Carrier::Jd,
        name: "京东物流",
        wechat: Some("JD"),
        kuaidi100: "jd",
        kdniao: "JD",
        direct: true,
        hub_word: "分拣中心",
    },
    CarrierCodes {
        carrier: Carrier::Ems,
        name: "EMS",
        wechat: Some("EMS"),
        kuaidi100: "ems",
        kdniao: "EMS",
        direct: true,
        hub_word: "邮件处理中心",
    },
    CarrierCodes {
        carrier: Carrier::Yzpy,
        name: "邮政快递包裹",
        wechat: None,
        kuaidi100: "youzhengguonei",
        kdniao: "YZPY",
        direct: true,
        hub_word: "邮件处理中心",
    },
    CarrierCodes {
        carrier: Carrier::Jtsd,
        name: "极兔速递",
        wechat: Some("JTSD"),
        kuaidi100: "jtexpress",
        kdniao: "JTSD",
        direct: false,
        hub_word: "转运中心",
    },
    CarrierCodes {
        carrier: Carrier::Dbkd,
        name: "德邦快递",
        wechat: Some("DBKD"),
        kuaidi100: "debangkuaidi",
        kdniao: "DBL",
        direct: true,
        hub_word: "枢纽中心",
    },
];

impl Carrier {
    pub fn codes(self) -> &'static CarrierCodes {
        CARRIERS
            .iter()
            .find(|c| c.carrier == self)
            .unwrap_or(&CARRIERS[0])
    }

    pub fn from_kuaidi100(code: &str) -> Option<Carrier> {
        CARRIERS
            .iter()
            .find(|c| c.kuaidi100 == code)
            .map(|c| c.carrier)
    }

    pub fn from_kdniao(code: &str) -> Option<Carrier> {
        CARRIERS
            .iter()
            .find(|c| c.kdniao == code)
            .map(|c| c.carrier)
    }

    pub fn from_wechat(code: &str) -> Option<Carrier> {
        CARRIERS
            .iter()
            .find(|c| c.wechat == Some(code))
            .map(|c| c.carrier)
    }

    /// A fresh number in the carrier's current format (the caller makes sure it is unused).
    pub fn new_number(self, rng: &mut Rng) -> String {
        // A leading zero after a letter prefix looks odd on real labels; start serials at 1-9.
        let lead = |rng: &mut Rng| char::from(b'1' + rng.below(9) as u8);
        match self {
            // `SF` + 13 digits.
            Carrier::Sf => format!("SF{}{}", lead(rng), rng.digits(12)),
            // 14 digits starting 73, 74, 75, 76 or 78.
            Carrier::Zto => format!(
                "7{}{}",
                rng.pick(&['3', '4', '5', '6', '8']),
                rng.digits(12)
            ),
            // `YT` + 13 digits (15 characters; YunExpress's `YT` numbers are 18).
            Carrier::Yto => format!("YT{}{}", lead(rng), rng.digits(12)),
            // 15 digits starting 3 or 4.
            Carrier::Yunda => format!("{}{}", rng.pick(&['3', '4']), rng.digits(14)),
            // 15 digits starting 77.
            Carrier::Sto => format!("77{}", rng.digits(13)),
            // `JD` + 2 letters + 11 digits, in the `JDV?` series both sources accept.
            Carrier::Jd => format!(
                "JDV{}{}",
                char::from(b'A' + rng.below(5) as u8),
                rng.digits(11)
            ),
            // UPU S10: `E` + service letter + 8-digit serial + check digit + `CN`.
            Carrier::Ems => {
                let serial = rng.digits(8);
                let check = s10_check_digit(&serial).unwrap_or(0);
                format!(
                    "E{}{serial}{check}CN",
                    char::from(b'A' + rng.below(26) as u8)
                )
            }
            // Domestic China Post parcel: 13 digits starting 98 (no published check digit).
            Carrier::Yzpy => format!("98{}", rng.digits(11)),
            // `JT` + 13 digits.
            Carrier::Jtsd => format!("JT{}{}", lead(rng), rng.digits(12)),
            // `DPK` + 12 digits.
            Carrier::Dbkd => format!("DPK{}{}", lead(rng), rng.digits(11)),
        }
    }
}

/// The UPU S10 check digit of an 8-digit serial: weights 8,6,4,2,3,5,9,7; 11 − (sum mod 11),
/// with 10 → 0 and 11 → 5.
pub fn s10_check_digit(serial: &str) -> Option<u32> {
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    if serial.len() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in serial.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    Some(match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s10_vectors_from_the_reference() {
        // RB123456785GB is valid; EA123456789CN is not (its check digit is 5).
        assert_eq!(s10_check_digit("12345678"), Some(5));
        assert_eq!(s10_check_digit("1234567"), None);
        assert_eq!(s10_check_digit("1234567x"), None);
    }

    #[test]
    fn numbers_have_each_carriers_shape() {
        let mut rng = Rng::new(7);
        for c in CARRIERS {
            for _ in 0..200 {
                let n = c.carrier.new_number(&mut rng);
                let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
                let ok = match c.carrier {
                    Carrier::Sf => n.len() == 15 && n.starts_with("SF") && digits(&n[2..]),
                    Carrier::Zto => {
                        n.len() == 14
                            && digits(&n)
                            && ["73", "74", "75", "76", "78"].contains(&&n[..2])
                    }
                    Carrier::Yto => n.len() == 15 && n.starts_with("YT") && digits(&n[2..]),
                    Carrier::Yunda => n.len() == 15 && digits(&n) && matches!(&n[..1], "3" | "4"),
                    Carrier::Sto => n.len() == 15 && digits(&n) && n.starts_with("77"),
                    Carrier::Jd => {
                        n.len() == 15
                            && n.starts_with("JDV")
                            && n.as_bytes()[3].is_ascii_uppercase()
                            && digits(&n[4..])
                    }
                    Carrier::Ems => {
                        n.len() == 13
                            && n.starts_with('E')
                            && n.ends_with("CN")
                            && s10_check_digit(&n[2..10]) == n[10..11].parse::<u32>().ok()
                    }
                    Carrier::Yzpy => n.len() == 13 && digits(&n) && n.starts_with("98"),
                    Carrier::Jtsd => n.len() == 15 && n.starts_with("JT") && digits(&n[2..]),
                    Carrier::Dbkd => n.len() == 15 && n.starts_with("DPK") && digits(&n[3..]),
                };
                assert!(ok, "{:?} {n}", c.carrier);
            }
        }
    }

    #[test]
    fn codes_round_trip() {
        for c in CARRIERS {
            assert_eq!(Carrier::from_kuaidi100(c.kuaidi100), Some(c.carrier));
            assert_eq!(Carrier::from_kdniao(c.kdniao), Some(c.carrier));
            if let Some(w) = c.wechat {
                assert_eq!(Carrier::from_wechat(w), Some(c.carrier));
            }
        }
    }
}

//! Which column holds what: header names as merchants write them, in Chinese or English.
//!
//! Headers are compared after normalising: spaces, `*` (the "required" mark of many templates),
//! `_` and `-` removed, full-width brackets made ASCII, a trailing unit such as "(元)" dropped,
//! English lower-cased. So "订单编号*", "实付金额（元）" and "Order No" all match.

use serde::Serialize;

/// A field of an import row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Field {
    OrderNo,
    ReceiverName,
    Phone,
    Province,
    City,
    County,
    Detail,
    FullAddress,
    Title,
    Spec,
    SkuCode,
    Quantity,
    UnitPrice,
    LinePaid,
    OrderPaid,
    Freight,
    BuyerNote,
    SellerNote,
    ShipBy,
    PresaleShipAt,
}

impl Field {
    pub const ALL: [Field; 20] = [
        Field::OrderNo,
        Field::ReceiverName,
        Field::Phone,
        Field::Province,
        Field::City,
        Field::County,
        Field::Detail,
        Field::FullAddress,
        Field::Title,
        Field::Spec,
        Field::SkuCode,
        Field::Quantity,
        Field::UnitPrice,
        Field::LinePaid,
        Field::OrderPaid,
        Field::Freight,
        Field::BuyerNote,
        Field::SellerNote,
        Field::ShipBy,
        Field::PresaleShipAt,
    ];

    /// The header fahuo's template uses (the first alias).
    pub fn label_zh(self) -> &'static str {
        self.aliases()[0]
    }

    /// The English name, for messages to integrators.
    pub fn label_en(self) -> &'static str {
        match self {
            Field::OrderNo => "order number",
            Field::ReceiverName => "receiver name",
            Field::Phone => "phone",
            Field::Province => "province",
            Field::City => "city",
            Field::County => "county",
            Field::Detail => "address detail",
            Field::FullAddress => "full address",
            Field::Title => "product name",
            Field::Spec => "specification",
            Field::SkuCode => "SKU code",
            Field::Quantity => "quantity",
            Field::UnitPrice => "unit price",
            Field::LinePaid => "line paid",
            Field::OrderPaid => "order paid total",
            Field::Freight => "freight",
            Field::BuyerNote => "buyer note",
            Field::SellerNote => "seller note",
            Field::ShipBy => "ship by",
            Field::PresaleShipAt => "presale ship date",
        }
    }

    /// Every header that names this field, already normalised (see [`normalize_header`]).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::OrderNo => &[
                "订单号",
                "订单编号",
                "外部单号",
                "外部订单号",
                "原始单号",
                "平台单号",
                "平台订单号",
                "orderno",
                "ordernumber",
                "orderid",
                "platformorderid",
            ],
            Field::ReceiverName => &[
                "收件人",
                "收货人",
                "姓名",
                "收件人姓名",
                "收货人姓名",
                "联系人",
                "receiver",
                "receivername",
                "name",
                "consignee",
            ],
            Field::Phone => &[
                "手机",
                "电话",
                "联系电话",
                "手机号",
                "手机号码",
                "收件人手机",
                "收件人电话",
                "收货人手机",
                "收货人电话",
                "联系方式",
                "phone",
                "mobile",
                "tel",
                "telephone",
                "receiverphone",
            ],
            Field::Province => &["省", "省份", "收件省", "所在省", "province"],
            Field::City => &["市", "城市", "收件市", "所在市", "city"],
            Field::County => &[
                "区(县)",
                "区",
                "县",
                "区县",
                "区/县",
                "县区",
                "收件区",
                "county",
                "district",
            ],
            Field::Detail => &[
                "详细地址",
                "地址",
                "街道地址",
                "收货详细地址",
                "收件详细地址",
                "detail",
                "addressdetail",
                "street",
            ],
            Field::FullAddress => &[
                "收货地址",
                "收件地址",
                "收件人地址",
                "收货人地址",
                "完整地址",
                "收货信息",
                "fulladdress",
                "address",
                "shippingaddress",
            ],
            Field::Title => &[
                "商品名称",
                "商品",
                "商品标题",
                "宝贝名称",
                "宝贝标题",
                "品名",
                "货品名称",
                "产品名称",
                "product",
                "productname",
                "title",
                "item",
                "itemname",
            ],
            Field::Spec => &[
                "规格",
                "商品规格",
                "规格名称",
                "颜色尺码",
                "sku名称",
                "spec",
                "variant",
            ],
            Field::SkuCode => &[
                "商家编码",
                "sku编码",
                "货号",
                "商品编码",
                "规格编码",
                "sku",
                "skucode",
                "merchantcode",
            ],
            Field::Quantity => &["数量", "购买数量", "件数", "quantity", "qty"],
            Field::UnitPrice => &["单价", "商品单价", "价格", "售价", "unitprice", "price"],
            Field::LinePaid => &[
                "实付",
                "实付金额",
                "商品实付",
                "实付款",
                "实收",
                "paid",
                "paidamount",
                "linepaid",
            ],
            Field::OrderPaid => &[
                "订单实付",
                "订单金额",
                "订单总额",
                "订单总价",
                "ordertotal",
                "paidtotal",
            ],
            Field::Freight => &["运费", "邮费", "freight", "shippingfee", "shipping"],
            Field::BuyerNote => &["买家留言", "留言", "买家备注", "buyernote", "buyermessage"],
            Field::SellerNote => &[
                "卖家备注",
                "备注",
                "商家备注",
                "客服备注",
                "sellernote",
                "note",
                "remark",
            ],
            Field::ShipBy => &[
                "最晚发货时间",
                "发货截止时间",
                "承诺发货时间",
                "最迟发货时间",
                "shipby",
                "deadline",
            ],
            Field::PresaleShipAt => &[
                "预售发货时间",
                "预计发货时间",
                "presaleshipat",
                "presaleshipdate",
            ],
        }
    }
}

/// Normalises a header cell for comparison with the aliases.
pub fn normalize_header(header: &str) -> String {
    let mut s: String = header
        .trim_start_matches('\u{feff}')
        .chars()
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '／' => '/',
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '_' | '-' | '：' | ':'))
        .collect::<String>()
        .to_lowercase();
    for unit in ["(元)", "(件)", "(个)", "(必填)", "(选填)"] {
        if let Some(rest) = s.strip_suffix(unit) {
            s = rest.to_string();
        }
    }
    s
}

/// The field a header names, if any.
pub fn field_for(header: &str) -> Option<Field> {
    let h = normalize_header(header);
    if h.is_empty() {
        return None;
    }
    Field::ALL
        .into_iter()
        .find(|f| f.aliases().contains(&h.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_unique_and_normalised() {
        let mut seen = std::collections::HashMap::new();
        for f in Field::ALL {
            for a in f.aliases() {
                assert_eq!(normalize_header(a), *a, "alias {a} is normalised");
                assert!(seen.insert(*a, f).is_none(), "alias {a} names one field");
            }
        }
    }

    #[test]
    fn headers_match_as_merchants_write_them() {
        assert_eq!(field_for("订单编号*"), Some(Field::OrderNo));
        assert_eq!(field_for(" 实付金额（元） "), Some(Field::LinePaid));
        assert_eq!(field_for("Order No"), Some(Field::OrderNo));
        assert_eq!(field_for("区（县）"), Some(Field::County));
        assert_eq!(field_for("SKU编码"), Some(Field::SkuCode));
        assert_eq!(field_for("\u{feff}订单号"), Some(Field::OrderNo));
        assert_eq!(field_for("unit_price"), Some(Field::UnitPrice));
        assert_eq!(field_for("下单时间"), None);
        assert_eq!(field_for(""), None);
    }
}

//! Masking of receiver PII for the console, the API and logs (张*, 138****5678, 浙江省杭州市****).
//!
//! Masking is the default everywhere; showing a clear value is an explicit, audited action of
//! the application layer.

/// `张三` → `张*`, `欧阳娜娜` → `欧***`, `A` → `*`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count();
            if rest == 0 {
                "*".to_string()
            } else {
                format!("{first}{}", "*".repeat(rest))
            }
        }
    }
}

/// Keeps the first three and last four digits of the main number and drops any extension
/// detail: `13812345678` → `138****5678`, `021-64581234-8` → `021****1234`.
pub fn mask_phone(phone: &str) -> String {
    let parts: Vec<&str> = phone.split('-').collect();
    // A mobile or glued landline is complete in its first part (what follows is an
    // extension); a split landline needs its area code and number.
    let main = match parts.as_slice() {
        [first, ..] if first.len() >= 10 => first.to_string(),
        [area, number, ..] => format!("{area}{number}"),
        _ => phone.to_string(),
    };
    let digits: String = main.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "*".repeat(digits.len().max(4));
    }
    format!("{}****{}", &digits[..3], &digits[digits.len() - 4..])
}

/// The detail line (street, building, room) is hidden entirely; the region stays visible
/// because staff need it to pick warehouses and carriers.
pub fn mask_detail(detail: &str) -> String {
    if detail.trim().is_empty() {
        String::new()
    } else {
        "****".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_staff_need() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("A"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("021-64581234-8"), "021****1234");
        assert_eq!(mask_phone("17012345678-4321"), "170****5678");
        assert_eq!(mask_phone("123"), "****");
        assert_eq!(mask_detail("文三路90号"), "****");
    }
}

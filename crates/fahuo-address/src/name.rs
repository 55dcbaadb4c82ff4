//! Recognising the receiver's name among the pieces of an address line.

use crate::charset::CharSet;
use crate::normalize::is_han;

/// Common single-character surnames (the top few hundred cover nearly all receivers). A name is
/// only taken from text that starts with one of these, or ends in a title such as 先生/女士, so
/// that a stray place word ("轻纺城") is not mistaken for a person.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁\
任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安\
齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻\
祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙\
荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠\
豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕\
危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由";

const COMPOUND_SURNAMES: [&str; 12] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "令狐", "夏侯",
];

/// The first characters of the compound surnames, so that most other characters are turned
/// away with one lookup.
const COMPOUND_FIRSTS: &str = "欧司上诸东皇尉公慕长令夏";
static COMPOUND_FIRST: CharSet = CharSet::of(COMPOUND_FIRSTS);

const TITLES: [&str; 6] = ["先生", "女士", "小姐", "老师", "师傅", "收"];

/// Characters that mark address text, never a personal name.
static ADDRESS_CHARS: CharSet = CharSet::of("路街道号楼室栋幢村镇乡区县省巷弄层组市州旗");

fn is_address_char(c: char) -> bool {
    ADDRESS_CHARS.contains(c)
}

/// Whether `c` is one of `SURNAMES` (a compile-time bitmap: this is asked for every token of
/// every line, and a linear scan of the list showed in profiles).
fn is_surname(c: char) -> bool {
    static SET: CharSet = CharSet::of(SURNAMES);
    SET.contains(c)
}

pub(crate) fn starts_with_surname(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    is_surname(first)
        || COMPOUND_FIRST.contains(first) && COMPOUND_SURNAMES.iter().any(|c| s.starts_with(c))
}

/// Whether a whole token looks like a receiver's name: 2–4 Han characters starting with a
/// surname (or 2–6 ending in a title), a masked name (李xx), or a minority name with a middle dot.
/// (The first test, which turns away most tokens, is built into the callers.)
#[inline(always)]
pub(crate) fn looks_like_name(token: &str) -> bool {
    // No name is longer than 20 bytes (6 Han characters, or a short Latin name); most tokens
    // tested are whole address lines, so reject those before any per-character work.
    token.len() <= 45 && looks_like_short_name(token)
}

/// [`looks_like_name`] for a token of at most 45 bytes.
#[inline(never)]
fn looks_like_short_name(token: &str) -> bool {
    // '·' is C2 B7: without a 0xC2 byte (a quick byte search) there is none.
    if token.len() > 20
        && !token.is_ascii()
        && (!has_c2_byte(token.as_bytes()) || !token.contains('·'))
    {
        return false;
    }
    // The usual token: a few Han characters (three bytes each), decoded without the general
    // character iterator; the rules below then come down to the last two.
    if token.len() <= 18 && token.len().is_multiple_of(3) && !token.is_empty() {
        let mut address = false;
        let all_han = token.as_bytes().chunks_exact(3).all(|c| match *c {
            [x @ 0xe0..=0xef, y, z] => {
                // A whole three-byte character (the chunks before it were too): its code point,
                // never a surrogate, tested without making it a `char`.
                let cp =
                    (u32::from(x & 0x0f) << 12) | (u32::from(y & 0x3f) << 6) | u32::from(z & 0x3f);
                address |= ADDRESS_CHARS.contains_code(cp);
                // Lead bytes 0xe5..=0xe9 are U+5000..U+9FFF, all Han.
                (0xe5..=0xe9).contains(&x) || char::from_u32(cp).is_some_and(is_han)
            }
            _ => false,
        });
        if all_han {
            return !address && han_name(token, token.len() / 3);
        }
    }
    looks_like_name_in_general(token)
}

/// Whether any byte is 0xC2 (the first byte of '·'), eight bytes at a time.
#[inline(always)]
fn has_c2_byte(b: &[u8]) -> bool {
    const ONES: u64 = u64::MAX / 255;
    let (words, tail) = b.as_chunks::<8>();
    words.iter().any(|w| {
        // A zero byte of x ^ C2C2…: the classic test (exact for "any", not for which byte).
        let x = u64::from_le_bytes(*w) ^ (ONES * 0xc2);
        x.wrapping_sub(ONES) & !x & (ONES * 0x80) != 0
    }) || tail.contains(&0xc2)
}

/// [`looks_like_name`] for any token.
fn looks_like_name_in_general(token: &str) -> bool {
    // One pass over the characters gathers everything the rules below ask about.
    let mut n = 0;
    let mut ascii = true;
    let mut address = false;
    let mut dotted = false;
    let mut all_han = true;
    let mut han_or_dot = true;
    // Every character after the first is a Latin letter or Han (a masked name: 李xx).
    let mut masked_tail = true;
    for c in token.chars() {
        let han = is_han(c);
        let dot = c == '·' || c == '•';
        ascii &= c.is_ascii();
        address |= is_address_char(c);
        dotted |= dot;
        all_han &= han;
        han_or_dot &= han || dot;
        if n > 0 {
            masked_tail &= han || c.is_ascii_alphabetic();
        }
        n += 1;
    }
    if ascii {
        // Latin names ("Tom", "asseek") are only trusted beside the phone: see
        // `looks_like_bare_name`. Anywhere else a Latin word is more often "Room", "Rd" or "A座".
        return false;
    }
    if address {
        return false;
    }
    if dotted {
        return (3..=15).contains(&n) && han_or_dot;
    }
    if !all_han {
        // A masked or romanised given name after a Han surname: 李xx, 陆xg, 张y.
        return token.chars().next().is_some_and(is_surname) && (2..=5).contains(&n) && masked_tail;
    }
    han_name(token, n)
}

/// The rule for a token of `n` Han characters: a surname and one to three more, or a title at
/// the end.
fn han_name(token: &str, n: usize) -> bool {
    // Every title ends in one of these characters; test that before comparing whole titles.
    let titled = (2..=6).contains(&n)
        && token.ends_with(['生', '士', '姐', '师', '傅', '收'])
        && TITLES.iter().any(|t| token.ends_with(t));
    titled || ((2..=4).contains(&n) && starts_with_surname(token))
}

/// Strip a trailing "收" that some buyers add after the name ("张三收").
pub(crate) fn clean_name(token: &str) -> &str {
    match token.strip_suffix('收') {
        Some(s) if s.chars().count() >= 2 => s,
        _ => token,
    }
}

/// A name without a Han surname: 2–4 Han characters with no address or estate character, or a
/// Latin name. Only trusted right next to the phone number.
pub(crate) fn looks_like_bare_name(token: &str) -> bool {
    let n = token.chars().count();
    if token.chars().all(|c| c.is_ascii_alphabetic()) {
        return (2..=20).contains(&n);
    }
    (2..=4).contains(&n)
        && token.chars().all(is_han)
        && !token.chars().any(is_address_char)
        && !token
            .ends_with(|c: char| "里苑园府城庄湾居阁轩坊寓厦馆店院舍湖港岛墅邸村寨屯".contains(c))
}

/// Text glued in front of the province/city ("楼丽丽浙江省…"): there a surname that is also an
/// address character (楼, 路, 区 …) still starts a name, because no address part can come first.
pub(crate) fn looks_like_glued_name(token: &str) -> bool {
    let n = token.chars().count();
    looks_like_name(token)
        || (2..=4).contains(&n)
            && token.chars().all(is_han)
            && starts_with_surname(token)
            && !token.chars().skip(1).any(is_address_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compound_surname_first_characters_are_those_of_the_list() {
        let firsts: String = COMPOUND_SURNAMES
            .iter()
            .map(|c| c.chars().next().unwrap())
            .collect();
        assert_eq!(firsts, COMPOUND_FIRSTS);
        assert!(firsts.chars().all(|c| COMPOUND_FIRST.contains(c)));
    }

    #[test]
    fn the_dot_byte_search_agrees_with_a_plain_one() {
        for t in [
            "",
            "·",
            "买买提·艾力",
            "北京市北京市顺义区长江路845号实验学校20栋1单元635室",
            "abcdefgh·",
            "abcdefghijklmnop",
            "é",
        ] {
            for from in 0..=t.len() {
                let b = &t.as_bytes()[from..];
                assert_eq!(has_c2_byte(b), b.contains(&0xc2), "{t:?} from {from}");
            }
        }
    }

    #[test]
    fn the_short_han_token_path_agrees_with_the_general_rules() {
        for t in [
            "",
            "张",
            "张三",
            "张三丰",
            "欧阳娜娜",
            "欧阳娜娜娜",
            "王小明先生",
            "李女士",
            "张三收",
            "路人",
            "张路",
            "幸福里",
            "轻纺城",
            "次仁",
            "李xx",
            "张•三",
            "阿依古丽",
            "王先生先生",
            "王一二三四五",
            "王一二三四五六",
            "𠀀三",
        ] {
            assert_eq!(looks_like_name(t), looks_like_name_in_general(t), "{t}");
        }
    }
}

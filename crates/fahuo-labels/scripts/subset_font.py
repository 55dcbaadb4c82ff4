#!/usr/bin/env python3
"""Subset Noto Sans CJK SC to the characters shipping labels need.

fahuo embeds its label font in the binary (no system font needed), but the full
Noto Sans CJK collection is ~20 MB per face. Labels only need simplified Chinese
names and addresses, so we keep:

  * every character of GB 2312 (6,763 hanzi + symbols; decoded with Python's own
    gb2312 codec, so no external list is needed),
  * printable ASCII, Latin-1 punctuation, general punctuation, CJK symbols and
    punctuation, full-width forms, a few shapes used for marks (□ ■ ★ ❄ ↑),
  * the extra characters listed in EXTRA below (common in place and personal
    names but missing from GB 2312).

Characters outside the subset are *not* silently dropped by the renderer: it
draws "□" in their place and reports them (see `fahuo_labels::LabelReport`).

How to regenerate (Debian bookworm, fonttools from PyPI):

    apt-get download fonts-noto-cjk        # 1:20220127+repack1-1
    dpkg-deb -x fonts-noto-cjk_*.deb noto
    pip install fonttools==4.*
    python3 crates/fahuo-labels/scripts/subset_font.py \
        noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
        crates/fahuo-labels/fonts/NotoSansCJKsc-Regular-subset.otf

Face index 2 of the collection is Simplified Chinese (SC). Update fonts/SOURCE.md
if the package version changes.
"""

import sys

from fontTools import subset
from fontTools.ttLib import TTFont

SC_FACE_INDEX = 2

# Characters outside GB 2312 that turn up on Chinese addresses and names.
# Add to this list (and rerun) when a merchant reports a □ on a label.
EXTRA = (
    "堃喆昇赟旻昊晟炜烨珺琦瑄瑛璟镕頔淼焱垚犇鑫翀玥祎祺禛"  # given names
    "亳泸涪邕嵊濮漯婺衢瓯鄞鄱赣黔滇蓟沧莘郓郯郏鄢闽岘峄"  # places (many are in GB2312; duplicates are harmless)
    "碶垟垌塱埇埗𬌗氹凼"  # village / street characters
    "·—‘’“”…、。〈〉《》「」『』【】〔〕〖〗～"
)


def wanted_codepoints():
    cps = set(range(0x20, 0x7F))          # ASCII
    cps.update(range(0xA0, 0x100))        # Latin-1 (·, ×, ÷, ¥ ...)
    cps.update(range(0x2000, 0x2070))     # general punctuation
    cps.update(range(0x2190, 0x2200))     # arrows (↑ for "this side up")
    cps.update(range(0x2460, 0x24FF))     # circled numbers
    cps.update(range(0x25A0, 0x2600))     # geometric shapes (□ ■ ▲)
    cps.update(range(0x2600, 0x2700))     # misc symbols (★ ☎)
    cps.update(range(0x2744, 0x2748))     # ❄ snowflakes
    cps.update(range(0x3000, 0x3040))     # CJK symbols and punctuation
    cps.update(range(0xFF00, 0xFFF0))     # full-width forms
    # Every character GB 2312 can encode: rows 0xA1-0xF7, cells 0xA1-0xFE.
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            cps.add(ord(ch))
    cps.update(ord(c) for c in EXTRA)
    return cps


def main(src, dst):
    font = TTFont(src, fontNumber=SC_FACE_INDEX, lazy=False)
    options = subset.Options()
    # Labels are set horizontally, one glyph per character: no vertical forms,
    # no locale variants. Each kept GSUB feature would pull thousands of
    # alternate glyphs into the subset.
    options.layout_features = []
    options.name_IDs = ["*"]          # keep copyright / licence records (OFL requires them)
    options.name_languages = ["*"]
    options.notdef_outline = True     # keep the visible .notdef box
    options.hinting = False           # CFF hints are useless at 203 dpi and cost bytes
    options.desubroutinize = False
    options.drop_tables += ["VORG", "vhea", "vmtx"]  # vertical metrics: unused
    sub = subset.Subsetter(options)
    cps = wanted_codepoints()
    sub.populate(unicodes=cps)
    sub.subset(font)
    font.save(dst)
    kept = set(font.getBestCmap())
    print(f"{dst}: {len(kept)} code points, {len(font.getGlyphOrder())} glyphs")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

-- A review finding's message in English, with the same particulars as the Chinese one, for the
-- console's English pages. Holds stored before this (and holds put by hand, whose message is
-- what a person typed) have none: English pages give the rule's instruction instead.
ALTER TABLE holds ADD COLUMN message_en TEXT NOT NULL DEFAULT '';

-- A digest of the receiver as the platform last sent it before decryption (ciphers, or WeChat's
-- masked address), taken when fahuo decrypted the receiver it stores. A pull that sees the same
-- digest keeps the stored receiver instead of spending the shop's decryption quota again: each
-- re-read order (sync overlap, pushes) cost ~8 decryptions per shipped order in a 10,000-order
-- run, and the Douyin quota ran out. NULL: not known, the next pull decrypts.
ALTER TABLE orders ADD COLUMN receiver_fingerprint TEXT;

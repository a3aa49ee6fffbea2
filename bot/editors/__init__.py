"""What editors do (`KHABAR_ADMIN_IDS`; every command checks it): /stats, /whoami, /reindex,
articles sent as documents or links, /gaps, and the feed job that polls `khabar feeds`.
Never imported by `messages/`, `stores/` or `transport/`.
"""

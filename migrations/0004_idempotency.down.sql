drop table showtree.idempotency_keys;

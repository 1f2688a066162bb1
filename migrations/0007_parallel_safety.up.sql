-- private.is_valid_timezone catches an exception, and a plpgsql exception
-- block opens a subtransaction, which PostgreSQL refuses while a query runs
-- in parallel mode ("cannot start subtransactions during a parallel
-- operation"), in the workers and in the leader alike. 0001 declared it
-- parallel safe, so any parallel plan that evaluated it (a filter over a
-- large scan, a bulk check) failed. Parallel unsafe keeps such a query
-- serial instead.
alter function private.is_valid_timezone(text) parallel unsafe;

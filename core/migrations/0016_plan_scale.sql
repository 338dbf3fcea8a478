-- Plans at district and city scale: the decomposition is a method of its own, and with a minimum
-- interval between actions a unit may be worked on twice in one plan (once per period at most).

ALTER TABLE plan_run DROP CONSTRAINT plan_run_method_check;
ALTER TABLE plan_run
    ADD CONSTRAINT plan_run_method_check CHECK (method IN ('milp', 'decomposition', 'greedy'));

ALTER TABLE plan_row DROP CONSTRAINT plan_row_pkey;
ALTER TABLE plan_row ADD PRIMARY KEY (plan_id, unit_id, period);

-- Two orders of one run: `rank` is the priority a bureau funds (PoF x consequence), `pof_rank` the
-- likelihood of failure a maintenance engineer and a backtest judge. Both put stopped units first
-- and are unique within a run, so either order is a short range scan of its own index.
ALTER TABLE unit_score ADD COLUMN pof_rank integer CHECK (pof_rank >= 1);

UPDATE unit_score s
SET pof_rank = o.pof_rank
FROM (SELECT run_id, unit_id,
             row_number() OVER (PARTITION BY run_id
                                ORDER BY (flag = 'stopped') DESC, pof DESC, unit_id) AS pof_rank
      FROM unit_score) o
WHERE o.run_id = s.run_id AND o.unit_id = s.unit_id;

CREATE UNIQUE INDEX unit_score_pof_rank_idx ON unit_score (run_id, pof_rank);

-- The condition model's weights fitted on the fleet's own history for the run: each factor's
-- prior and fitted weight with its interval, the training window and how much history it saw.
-- NULL for runs scored with the policy's weights alone.
ALTER TABLE score_run ADD COLUMN fitted_weights jsonb;

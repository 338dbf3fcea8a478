"""The renewal planner: which units to renew in which year, with which money, keeping every
building served. Inputs are a score run, the register and a funding policy; the plan is an exact
MILP (scipy's HiGHS), with a greedy heuristic for very large fleets."""

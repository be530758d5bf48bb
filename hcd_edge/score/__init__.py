"""Scoring patches with an engine: sources (input listing) -> pipeline (slot ring, executor,
TTA) -> rows -> partial log -> outputs and summary; plus the starter model's default engine.

    from hcd_edge.score import ScoreRequest, score
    result = score(ScoreRequest(inputs=(Path("patches/"),), out=Path("scores.csv")))
"""

from hcd_edge.score.run import ScoreRequest, ScoreResult, score

__all__ = ["ScoreRequest", "ScoreResult", "score"]

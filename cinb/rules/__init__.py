"""The CI rule grammar: tokens, typed stages, the family registry."""

from .model import Context, EncodeOptions, Quality, Rule, SizeLimit, Stage
from .registry import families, parse_rule, register_family

__all__ = ["Context", "EncodeOptions", "Quality", "Rule", "SizeLimit", "Stage", "families", "parse_rule",
           "register_family"]

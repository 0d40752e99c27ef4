"""Semantics-preserving refactorings of Python code through libcst, each with its inverse.

Every rewrite proves, site by site, that the program keeps its behaviour, or refuses the site
with a reason. Its inverse is the equivalence gate's normal form: the gate undoes the rewrite
(on the original and on the refactored code alike) and compares the syntax trees.

`registry` holds the rewrites (and imports libcst); `params` only their names, for configs.
"""

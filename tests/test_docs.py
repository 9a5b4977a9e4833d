"""Documentation that runs or links: every docstring example of the package
passes as a doctest (the estimators' class docstrings must have some), and
the estimators' HTML repr links them to the README section that documents
them (issue 14)."""
import doctest
import importlib
import pkgutil
import re
import tomllib
from pathlib import Path

import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._docs import DOC_LINK, REPOSITORY

ROOT = Path(__file__).resolve().parents[1]
ESTIMATORS = [MLPClassifier, MLPRegressor]
# the package's Python modules (the engine's Cython ones hold no examples);
# __main__ runs the demo
MODULES = sorted(info.name for info in pkgutil.walk_packages(fastmlp.__path__, "fastmlp.")
                 if not info.name.startswith("fastmlp._engine") and info.name != "fastmlp.__main__")
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _failures(tests):
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = []
    for test in tests:
        result = runner.run(test, out=report.append)
        if result.failed:
            report.insert(0, f"{test.name}: {result.failed} of {result.attempted} failed")
    return runner.failures, "".join(report)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    tests = doctest.DocTestFinder().find(importlib.import_module(name))
    failed, report = _failures(tests)
    assert failed == 0, report


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_estimators_have_examples(Est):
    # the class docstring has a numpydoc Examples section of doctests, which
    # fit the estimator and use it (test_docstring_examples_run runs them)
    assert re.search(r"\n    Examples\n    --------\n    >>> ", Est.__doc__)
    (test,) = [t for t in doctest.DocTestFinder().find(Est, Est.__name__)
               if t.name == Est.__name__]
    sources = "".join(example.source for example in test.examples)
    assert ".fit(" in sources and ".score(" in sources


def _github_anchors(markdown):
    """The anchors GitHub gives a README's headings: lower case, punctuation
    other than '-' and '_' dropped, spaces as '-'."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_html_repr_links_the_readme_section(Est):
    est = Est()
    link = est._get_doc_link()
    assert link == DOC_LINK
    page, anchor = link.split("#")
    assert page == f"{REPOSITORY}/blob/main/README.md"
    assert anchor in _github_anchors((ROOT / "README.md").read_text())
    html = estimator_html_repr(make_pipeline(StandardScaler(), est))
    assert f'href="{link}"' in html
    # scikit-learn's own steps keep their links
    assert re.search(r'href="https://scikit-learn\.org/[^"]+StandardScaler\.html"', html)
    # parameters link to text fragments of the README page (not of a section's
    # anchor, where "#usage#:~:" would be no fragment at all)
    params = re.findall(r'class="param-doc-link"[^>]*href="([^"]+)"', html, re.S)
    ours = [p for p in params if p.startswith(REPOSITORY)]
    assert ours and all(p.startswith(f"{page}#:~:text=") for p in ours)
    assert f"{page}#:~:text=hidden_layer_sizes," in " ".join(ours)


def test_project_urls_name_the_linked_repository():
    with open(ROOT / "pyproject.toml", "rb") as f:
        urls = tomllib.load(f)["project"]["urls"]
    assert urls["Homepage"] == REPOSITORY
    assert all(url.startswith(REPOSITORY) for url in urls.values())

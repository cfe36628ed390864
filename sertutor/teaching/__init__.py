"""The teacher kit: student copies of the notebooks, a grading command, lab preparation.

One module per concern (the names below are re-exported here, so ``from sertutor.teaching
import grade`` and ``teaching.grade`` keep working):

- ``student.py``: :func:`student_notebook` / :func:`write_student_copies` (``sertutor
  tutorials student --out DIR``): the notebooks without their
  ``<details><summary>Solution</summary>`` blocks (or any ``solution("NN.name")`` call),
  outputs cleared, every ``check`` kept. The output is byte-for-byte the same for the same
  notebooks. :func:`export_with_student_copies` (``sertutor tutorials export``) adds executed
  student copies to the static HTML.
- ``grading.py``: :func:`grade` (``sertutor tutorials grade SUBMISSIONS --out grades.csv``):
  executes every submitted notebook in its own kernel, in a child process with a memory limit
  (``RLIMIT_AS``) and a wall-clock limit, on a copy (a submission is never modified); every
  ``check`` the notebook runs appends its verdict to a log (``SERTUTOR_GRADING_LOG``), which
  becomes one CSV row per student, notebook and exercise, plus an HTML summary
  (:func:`summary_html`).
- ``nbgrader.py``: :func:`nbgrader_notebook` / :func:`write_nbgrader_course` (``sertutor
  tutorials nbgrader --out COURSE_DIR``): an nbgrader course
  (``COURSE_DIR/source/<assignment>/<notebook>.ipynb`` and ``nbgrader_config.py``): each
  exercise cell becomes an nbgrader solution cell (the ``<details>`` solution between ``###
  BEGIN SOLUTION`` / ``### END SOLUTION``) and an autograded test cell around its ``check``
  call; the solution blocks are cut out.
- ``preparation.py``: :func:`prepare` (``sertutor tutorials prepare``): corpora, feature
  caches, the pretrained model and numba's UMAP cache, then ``sertutor doctor``.
- ``class_pairs.py``: :func:`class_experiment` (part of :func:`grade`): the pairs of runs the
  students of a class recorded in notebook 05 (:func:`sertutor.exercises.record_result`),
  pooled into the paired gain of ``full`` over ``baseline`` with its standard error and wins;
  :func:`recorded_pairs`, :func:`collect_pairs`, :func:`write_class_experiment`.
- ``submissions.py``: the layout of a submissions folder, read by grading and the class
  experiment.

Submissions are laid out one folder per student (``SUBMISSIONS/<student>/03_autoencoder.ipynb``,
as nbgrader collects them); a notebook directly in ``SUBMISSIONS`` is graded with its file name
(without ``.ipynb``) as the student. Other files are listed as not graded.

The modules are named after their concern, not after a function they hold (``grading.py``,
not ``grade.py``): a submodule named like a re-exported function would be hidden by it as an
attribute of this package (``sertutor.teaching.grade`` is the function).
"""

from __future__ import annotations

from .class_pairs import class_experiment, collect_pairs, recorded_pairs, write_class_experiment
from .grading import STATUSES, GradeReport, GradeRow, grade, summary_html
from .nbgrader import NBGRADER_CODE_STUB as NBGRADER_CODE_STUB
from .nbgrader import nbgrader_notebook, write_nbgrader_course
from .preparation import prepare
from .student import EXPORT_STUDENT_COPIES, export_with_student_copies, student_notebook
from .student import write_student_copies

__all__ = ["student_notebook", "write_student_copies", "export_with_student_copies",
           "EXPORT_STUDENT_COPIES", "nbgrader_notebook",
           "write_nbgrader_course", "grade", "GradeRow", "GradeReport", "summary_html",
           "prepare", "STATUSES", "class_experiment", "recorded_pairs", "collect_pairs",
           "write_class_experiment"]

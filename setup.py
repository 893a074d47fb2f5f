"""Build config beyond pyproject.toml: cinb's one C extension (setuptools cannot declare it in TOML yet).

``cinb.codecs._jpegcoef`` rewrites JPEGs losslessly through libjpeg's transcoding API (Debian:
``libjpeg-dev``, in scripts/apt-packages.txt). It is optional: without a compiler or libjpeg's headers the
install goes on and cinb keeps jpegli's standard Huffman tables (cinb.codecs.jpegcoef.available()).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("cinb.codecs._jpegcoef", ["src/jpegcoef.c"], libraries=["jpeg"],
                             extra_compile_args=["-O2", "-std=c99"], optional=True)])

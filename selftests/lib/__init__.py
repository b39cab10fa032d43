# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the Python selftests (see wire.py).

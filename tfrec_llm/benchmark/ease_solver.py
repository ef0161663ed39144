"""EASE's closed form, solved on the smaller side of the user x item matrix.

X is the binary `[U, N]` user x item matrix, G = X^T X, P = (G + l2 I)^-1
and B = I - P diag(P)^-1 (EASE's -P_ij / P_jj off the diagonal, 0 on it).
A user's scores are a B = a - (a P) / diag(P).

Inverting the `N x N` matrix costs O(N^3) per l2. With fewer users than
items (ml-latest-small: 610 users, 9,724 items; ml-100k: 943, 1,682) the
Woodbury identity gives the same P from a `U x U` system:

    (l2 I_N + X^T X)^-1 = (I_N - X^T (l2 I_U + X X^T)^-1 X) / l2,

so each l2 of a validation grid costs O(U^2 N) instead (scores of a few
users need only the `U x N` product W = (l2 I_U + X X^T)^-1 X, never the
`N x N` P), and the final `N x N` B one `N x U x N` product. With at least
as many users as items, the `N x N` inverse is the cheaper one and is used.
Measured on this 2-core machine at N = 3,000 (2,000 users): np.linalg.inv
6.7 s, np.linalg.cholesky 3.5 s, np.linalg.eigh 46 s: one
eigendecomposition for the whole grid costs more than the 6 inverses it
would replace, so it is not used.
"""

import numpy as np

GRAM_BLOCK_USERS = 2048


def multi_hot(rows: np.ndarray, items: np.ndarray, num_rows: int, num_items: int) -> np.ndarray:
    """float32 `[num_rows, num_items]` with 1 at every (row, item) pair (duplicates count once)."""
    matrix = np.zeros((num_rows, num_items), np.float32)
    matrix[rows, items] = 1.0
    return matrix


def gram_matrix(user_rows: np.ndarray, items: np.ndarray, num_items: int) -> np.ndarray:
    """float64 `[N, N]` X^T X of the binary matrix with ones at (user_rows, items), in user blocks."""
    gram = np.zeros((num_items, num_items), np.float64)
    num_users = int(user_rows.max()) + 1 if len(user_rows) else 0
    for start in range(0, num_users, GRAM_BLOCK_USERS):
        in_block = (user_rows >= start) & (user_rows < start + GRAM_BLOCK_USERS)
        block = multi_hot(user_rows[in_block] - start, items[in_block], GRAM_BLOCK_USERS, num_items)
        gram += block.T @ block
    return gram


def item_weights_from_gram(gram: np.ndarray, l2: float) -> np.ndarray:
    """B = -P / diag(P) with P = (G + l2 I)^-1 and a zero diagonal (the direct `N x N` solve)."""
    _check_l2(l2)
    inverse = np.linalg.inv(gram + l2 * np.eye(len(gram)))
    weights = inverse / -np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return weights


class EaseClosedForm:
    """P = (X^T X + l2 I)^-1 of a binary user x item matrix, kept in the cheaper form (module doc).

    Args:
        user_rows: `[e]` user row (0..num_users-1) of each one of X.
        items: `[e]` item column (0..num_items-1) of each one of X.
        num_users: rows of X.
        num_items: columns of X (N).
        l2: the regularisation, > 0.

    Example:
        >>> solved = EaseClosedForm(np.array([0, 0, 1]), np.array([0, 1, 1]), 2, 3, 1.0)
        >>> np.allclose(solved.item_weights(), item_weights_from_gram(gram_matrix(
        ...     np.array([0, 0, 1]), np.array([0, 1, 1]), 3), 1.0))
        True
    """

    def __init__(self, user_rows: np.ndarray, items: np.ndarray, num_users: int, num_items: int, l2: float):
        _check_l2(l2)
        self.l2 = float(l2)
        self.num_items = int(num_items)
        self.uses_users = num_users < num_items  # Woodbury: a U x U system
        if self.uses_users:
            self._users = multi_hot(user_rows, items, num_users, num_items).astype(np.float64)
            kernel = self._users @ self._users.T + self.l2 * np.eye(num_users)
            self._solved = np.linalg.solve(kernel, self._users)  # W = K^-1 X, [U, N]
            self.diagonal = (1.0 - np.einsum("uj,uj->j", self._users, self._solved)) / self.l2
        else:
            self._inverse = np.linalg.inv(gram_matrix(user_rows, items, num_items) + self.l2 * np.eye(num_items))
            self.diagonal = np.diag(self._inverse).copy()

    def times_inverse(self, rows: np.ndarray) -> np.ndarray:
        """`rows @ P` for float `[n, N]` rows."""
        rows = np.asarray(rows, np.float64)
        if self.uses_users:
            return (rows - (rows @ self._users.T) @ self._solved) / self.l2
        return rows @ self._inverse

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """float64 `[n, N]` `rows @ B` (B's diagonal is zero) for multi-hot `[n, N]` rows."""
        rows = np.asarray(rows, np.float64)
        # a B = a - (a P) / diag(P): B's diagonal 1 - P_jj / P_jj is zero up to rounding.
        return rows - self.times_inverse(rows) / self.diagonal

    def item_weights(self) -> np.ndarray:
        """float64 `[N, N]` B = I - P diag(P)^-1 with an exactly zero diagonal."""
        if self.uses_users:
            inverse = (np.eye(self.num_items) - self._users.T @ self._solved) / self.l2
        else:
            inverse = self._inverse
        weights = inverse / -self.diagonal
        np.fill_diagonal(weights, 0.0)
        return weights


def _check_l2(l2: float):
    if l2 <= 0:
        raise ValueError(f"The EASE regularisation l2 must be positive, got {l2}.")

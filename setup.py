"""tfrec-llm: TFRS two-tower retrieval and ranking with a BERT item tower."""

from setuptools import find_packages, setup

setup(
    name="tfrec-llm",
    version="0.1.0",
    description="TensorFlow Recommenders two-tower retrieval and ranking whose item tower reads item "
    "text with a KerasHub BERT, and whose user tower is an LSTM over the history.",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tfrec_llm", "tfrec_llm.*"]),
    python_requires=">=3.10,<3.14",
    install_requires=[
        # TF 2.21 with legacy Keras for TFRS 0.7.7 (Keras 2 API).
        "tensorflow>=2.21,<2.22",
        "tf-keras>=2.21,<2.22",
        "tensorflow-recommenders==0.7.7",
        # KerasHub (Keras 3) for BERT; keras-nlp 0.32 is the same code under its old name.
        "keras-hub>=0.32,<0.33",
        "keras>=3.10,<4",
        # TF Text ops for KerasHub's tokenizers (same minor as TensorFlow).
        "tensorflow-text>=2.21,<2.22",
        "tensorflow-datasets>=4.9.7,<5",
        # TFDS 4.9.10 imports it but does not declare it.
        "importlib_resources>=6",
        # TF 2.21 no longer installs TensorBoard; we write its logs.
        "tensorboard>=2.21,<2.22",
        "numpy>=1.26,<3",
        # CSV/Parquet reading of users' own logs.
        "pandas>=2.1,<4",
        # Hugging Face checkpoints (model.safetensors) through KerasHub.
        "safetensors>=0.4,<1",
        # The default text encoder, hf://sentence-transformers/all-MiniLM-L6-v2: Hugging Face cache and
        # download (KerasHub only imports it when present).
        "huggingface_hub>=0.23",
        # PredictionLog protos for TF Serving warm-up records written at export.
        "tensorflow-serving-api>=2.21,<2.22",
        # PNG plots of `tfrec-llm benchmark`.
        "matplotlib>=3.7,<4",
        # Progress bars of long phases on a terminal (tfrec_llm/progress.py).
        "tqdm>=4.60",
    ],
    extras_require={
        "parquet": ["pyarrow>=14"],
        "test": ["pytest>=8", "hypothesis>=6.100", "ruff>=0.6"],
    },
    entry_points={"console_scripts": ["tfrec-llm=tfrec_llm.cli:main"]},
)

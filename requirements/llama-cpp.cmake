# CMake options for llama-server (scripts/build_llama.sh), one per line.
# A fixed, conservative x86-64 level (Haswell, 2013: AVX2, FMA, F16C, BMI2) that every
# x86-64 server of the last decade runs. Never a build for the native CPU: one made on one
# machine crashes on another, and the default native build crashed with SIGSEGV even on
# the AVX-512/AMX Xeon it was built on (issue 13; measurements in docs/benchmarks-llm.md).
-DGGML_NATIVE=OFF
-DGGML_AVX=ON
-DGGML_AVX2=ON
-DGGML_FMA=ON
-DGGML_F16C=ON
-DGGML_BMI2=ON
-DGGML_AVX512=OFF
-DGGML_AMX_TILE=OFF
-DGGML_AMX_INT8=OFF
-DGGML_AMX_BF16=OFF
# one static binary, nothing but the server
-DBUILD_SHARED_LIBS=OFF
-DLLAMA_BUILD_TESTS=OFF
-DLLAMA_BUILD_EXAMPLES=OFF
-DLLAMA_BUILD_TOOLS=ON
-DLLAMA_BUILD_SERVER=ON
-DLLAMA_BUILD_APP=OFF
# no network at build time: no prebuilt web UI download, no HTTPS client
-DLLAMA_USE_PREBUILT_UI=OFF
-DLLAMA_BUILD_UI=OFF
-DLLAMA_OPENSSL=OFF

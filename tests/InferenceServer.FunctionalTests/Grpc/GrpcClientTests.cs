namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// The KServe v2 gRPC service driven by an independent client (Debian's python3-grpcio, messages built from the
/// server's own .proto files): every RPC, health check and server reflection (a client built from the reflected
/// descriptors alone), raw and typed contents for every datatype compared bit for bit, each error status, gzip and
/// deflate requests, parameters, and streaming with ids matched out of order and Triton's <c>triton_final_response</c>.
/// The cases are in Grpc/python/grpc_cases.py (suite "main"); each is one test here.
/// </summary>
public sealed class GrpcClientTests(GrpcClientTests.Suite suite) : IClassFixture<GrpcClientTests.Suite>
{
    private static readonly string[] Names =
    [
        "server_live",
        "server_ready",
        "model_ready",
        "server_metadata",
        "model_metadata",
        "model_metadata_every_datatype",
        "model_metadata_unknown_model_is_not_found",
        "model_metadata_unknown_version_is_not_found",
        "model_metadata_of_a_model_that_failed_to_load_is_unavailable",
        "model_config",
        "model_config_unknown_model_is_not_found",
        "model_statistics_count_inferences",
        "model_statistics_of_all_models",
        "model_statistics_unknown_model_is_not_found",
        "repository_index",
        "repository_load_outside_explicit_mode_is_unavailable",
        "health_check_server_is_serving",
        "health_check_unknown_service_is_not_found",
        "unknown_method_is_unimplemented",
        "reflection_lists_the_services",
        "reflection_describes_the_service_so_a_client_needs_no_proto_file",
        "infer_simple_raw",
        "infer_simple_typed",
        "infer_explicit_version",
        "infer_requested_output_only",
        "infer_batch_of_rows",
        "infer_raw_every_datatype_in_one_request",
        "infer_raw_bool",
        "infer_raw_uint8",
        "infer_raw_uint16",
        "infer_raw_uint32",
        "infer_raw_uint64",
        "infer_raw_int8",
        "infer_raw_int16",
        "infer_raw_int32",
        "infer_raw_int64",
        "infer_raw_fp16",
        "infer_raw_bf16",
        "infer_raw_fp32",
        "infer_raw_fp64",
        "infer_raw_bytes",
        "infer_typed_bool",
        "infer_typed_uint8",
        "infer_typed_uint16",
        "infer_typed_uint32",
        "infer_typed_uint64",
        "infer_typed_int8",
        "infer_typed_int16",
        "infer_typed_int32",
        "infer_typed_int64",
        "infer_typed_fp32",
        "infer_typed_fp64",
        "infer_typed_bytes",
        "infer_typed_every_datatype_in_one_request",
        "infer_typed_fp16_is_invalid_argument",
        "infer_typed_bf16_is_invalid_argument",
        "infer_large_raw_request",
        "infer_concurrent_calls_on_one_channel",
        "request_gzip_compression",
        "request_deflate_compression",
        "priority_and_timeout_parameters_are_accepted",
        "priority_and_timeout_out_of_range_are_invalid_argument",
        "priority_of_the_wrong_type_is_invalid_argument",
        "infer_unknown_model_is_not_found",
        "infer_unknown_version_is_not_found",
        "infer_model_that_failed_to_load_is_unavailable",
        "infer_wrong_shape_raw_is_invalid_argument",
        "infer_wrong_shape_typed_is_invalid_argument",
        "infer_wrong_datatype_raw_is_invalid_argument",
        "infer_wrong_datatype_typed_is_invalid_argument",
        "infer_typed_values_in_the_wrong_list_are_invalid_argument",
        "infer_unknown_datatype_is_invalid_argument",
        "infer_raw_size_that_does_not_match_the_shape_is_invalid_argument",
        "infer_typed_count_that_does_not_match_the_shape_is_invalid_argument",
        "infer_typed_value_out_of_range_is_invalid_argument",
        "infer_raw_and_typed_together_is_invalid_argument",
        "infer_raw_contents_for_only_some_inputs_is_invalid_argument",
        "infer_missing_input_is_invalid_argument",
        "infer_input_without_data_is_invalid_argument",
        "infer_malformed_bytes_element_is_invalid_argument",
        "infer_duplicate_input_is_invalid_argument",
        "infer_unknown_requested_output_is_invalid_argument",
        "infer_classification_output_is_invalid_argument",
        "infer_batch_over_max_batch_size_is_invalid_argument",
        "infer_negative_dimension_is_invalid_argument",
        "infer_shape_whose_element_count_overflows_is_invalid_argument",
        "infer_zero_element_tensors_round_trip",
        "infer_unknown_fields_are_ignored",
        "infer_without_model_name_is_invalid_argument",
        "malformed_protobuf_is_invalid_argument",
        "stream_many_requests_matched_by_id",
        "stream_mixes_models_and_contents",
        "stream_failing_requests_answer_with_their_id_and_the_stream_goes_on",
        "stream_malformed_message_answers_an_error_and_the_stream_goes_on",
        "concurrent_streams_each_get_their_own_answers",
        "stream_with_no_requests_ends_cleanly",
        "stream_answers_carry_triton_final_response",
    ];

    public static TheoryData<string> Cases => new(Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name) => suite.Results.AssertPassed(name);

    [Fact]
    public void EveryPythonCaseIsATestHere() => suite.Results.AssertListed(Names);

    /// <summary>simple, identity (every datatype), identity_typed (every datatype with typed contents), add_sub, a
    /// batching model with two priority levels, and a model that fails to load.</summary>
    public sealed class Suite : GrpcClientSuiteFixture
    {
        protected override string SuiteName => "main";

        // 'corrupt' fails on purpose: the server keeps running and reports ready (and SERVING) while the others serve.
        protected override (string Key, string Value)[] Settings => [("Server:ExitOnError", "false"), ("Server:StrictReadiness", "false")];

        private protected override void Populate(TestRepository repository) => repository
            .AddSample("simple")
            .AddFixture("identity", "identity_all.onnx")
            .AddFixture("identity_typed", "identity_typed.onnx")
            .AddFixture("add_sub", "add_sub.onnx")
            .AddFixture("batched", "add_sub.onnx", """
                max_batch_size: 8
                input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
                output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
                dynamic_batching { priority_levels: 2 default_priority_level: 2 default_queue_policy { allow_timeout_override: true } }
                """)
            .Add("corrupt", "name: \"corrupt\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 0\n", "this is not an onnx file"u8.ToArray());
    }
}

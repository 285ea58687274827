using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Repository;

/// <summary>Whole configs written the way Triton users write them.</summary>
public sealed class ModelConfigExampleTests
{
    // In the shape of Triton's quick-start "simple" model: two INT32 inputs, two outputs.
    internal const string Simple = """
        name: "simple"
        platform: "onnxruntime_onnx"
        max_batch_size: 8
        input [
          {
            name: "INPUT0"
            data_type: TYPE_INT32
            dims: [ 16 ]
          },
          {
            name: "INPUT1"
            data_type: TYPE_INT32
            dims: [ 16 ]
          }
        ]
        output [
          {
            name: "OUTPUT0"
            data_type: TYPE_INT32
            dims: [ 16 ]
          },
          {
            name: "OUTPUT1"
            data_type: TYPE_INT32
            dims: [ 16 ]
          }
        ]
        """;

    // An image classifier with batching, two priority levels, queue policies and warm-up.
    internal const string Classifier = """
        # ResNet-50 exported to ONNX, served on CPU with dynamic batching.
        name: "resnet50"
        backend: "onnxruntime"
        max_batch_size: 32
        default_model_filename: "model.onnx"

        version_policy: { latest: { num_versions: 2 } }

        input [
          {
            name: "input"
            data_type: TYPE_FP32
            format: FORMAT_NCHW
            dims: [ 3, 224, 224 ]
          }
        ]
        output [
          {
            name: "logits"
            data_type: TYPE_FP32
            dims: [ 1000 ]
            label_filename: "imagenet_labels.txt"
          }
        ]

        instance_group [
          {
            name: "cpu"
            count: 2
            kind: KIND_CPU
          }
        ]

        dynamic_batching {
          preferred_batch_size: [ 8, 16, 32 ]
          max_queue_delay_microseconds: 2000
          preserve_ordering: false
          priority_levels: 2
          default_priority_level: 2
          default_queue_policy {
            timeout_action: REJECT
            default_timeout_microseconds: 0
            allow_timeout_override: true
            max_queue_size: 256
          }
          priority_queue_policy {
            key: 1
            value: {
              timeout_action: DELAY
              default_timeout_microseconds: 50000
              max_queue_size: 64
            }
          }
        }

        parameters { key: "intra_op_thread_count" value: { string_value: "4" } }
        parameters { key: "enable_mem_arena" value: { string_value: "1" } }

        optimization {
          graph: { level: 1 }
          execution_accelerators {
            cpu_execution_accelerator : [ { name : "openvino" } ]
          }
        }

        model_warmup [
          {
            name: "random_batch_8"
            batch_size: 8
            count: 2
            inputs {
              key: "input"
              value: {
                data_type: TYPE_FP32
                dims: [ 3, 224, 224 ]
                random_data: true
              }
            }
          }
        ]
        """;

    [Fact]
    public void Reads_the_simple_model()
    {
        var result = ModelConfigReader.Parse(Simple);
        Assert.Empty(result.Warnings);
        var config = result.Config;
        Assert.Equal(("simple", "onnxruntime_onnx", 8), (config.Name, config.Platform, config.MaxBatchSize));
        Assert.Equal(["INPUT0", "INPUT1"], config.Input.Select(i => i.Name));
        Assert.Equal(["OUTPUT0", "OUTPUT1"], config.Output.Select(o => o.Name));
        Assert.All(config.Input.Concat<IModelTensor>(config.Output), t =>
        {
            Assert.Equal(DataType.Int32, t.ElementType());
            Assert.Equal([16L], t.Dims);
        });
        Assert.Null(config.DynamicBatching);
        Assert.Empty(config.InstanceGroup);
    }

    [Fact]
    public void Reads_the_image_classifier()
    {
        var result = ModelConfigReader.Parse(Classifier, "models/resnet50/config.pbtxt");
        Assert.Empty(result.Warnings);
        var config = result.Config;
        Assert.Equal(("resnet50", "onnxruntime", 32, "model.onnx"), (config.Name, config.Backend, config.MaxBatchSize, config.DefaultModelFilename));
        Assert.Equal((ModelVersionPolicy.PolicyChoiceOneofCase.Latest, 2U), (config.VersionPolicy.PolicyChoiceCase, config.VersionPolicy.Latest.NumVersions));

        var input = Assert.Single(config.Input);
        Assert.Equal((ModelInput.Types.Format.Nchw, DataType.Fp32), (input.Format, input.ElementType()));
        Assert.Equal([3L, 224, 224], input.Dims);
        Assert.Equal("imagenet_labels.txt", Assert.Single(config.Output).LabelFilename);

        var group = Assert.Single(config.InstanceGroup);
        Assert.Equal(("cpu", 2, InstanceKind.Cpu), (group.Name, group.Count, group.Kind.ToInstanceKind()));

        var batching = config.DynamicBatching;
        Assert.Equal([8, 16, 32], batching.PreferredBatchSize);
        Assert.Equal(2000UL, batching.MaxQueueDelayMicroseconds);
        Assert.Equal((2UL, 2UL), (batching.PriorityLevels, batching.DefaultPriorityLevel));
        Assert.Equal(256U, batching.DefaultQueuePolicy.MaxQueueSize);
        Assert.True(batching.DefaultQueuePolicy.AllowTimeoutOverride);
        var high = batching.PriorityQueuePolicy[1];
        Assert.Equal((ModelQueuePolicy.Types.TimeoutAction.Delay, 50000UL, 64U), (high.TimeoutAction, high.DefaultTimeoutMicroseconds, high.MaxQueueSize));

        Assert.Equal("4", config.Parameters["intra_op_thread_count"].StringValue);
        Assert.Equal(1, config.Optimization.Graph.Level);
        Assert.Equal("openvino", config.Optimization.ExecutionAccelerators.CpuExecutionAccelerator[0].Name);

        var warmup = Assert.Single(config.ModelWarmup);
        Assert.Equal(("random_batch_8", 8U, 2U), (warmup.Name, warmup.BatchSize, warmup.Count));
        Assert.Equal(ModelWarmup.Types.Input.InputDataTypeOneofCase.RandomData, warmup.Inputs["input"].InputDataTypeCase);
    }

    [Fact]
    public void Reads_an_angle_bracket_config_in_the_old_style()
    {
        var result = ModelConfigReader.Parse("""
            name: "legacy"
            max_batch_size: 4
            input < name: "x" data_type: TYPE_FP32 dims: 2 dims: 2 >
            output < name: "y" data_type: TYPE_FP32 dims: 4 reshape < shape: 2 shape: 2 > >
            instance_group < count: 1 kind: KIND_CPU >
            version_policy < specific < versions: 1 versions: 2 > >
            """);
        Assert.Empty(result.Warnings);
        Assert.Equal([2L, 2], result.Config.Input[0].Dims);
        Assert.Equal([2L, 2], result.Config.Output[0].Reshape.Shape);
        Assert.Equal([1L, 2], result.Config.VersionPolicy.Specific.Versions);
    }
}

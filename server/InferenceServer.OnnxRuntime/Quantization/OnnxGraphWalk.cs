using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>Visits every graph of a model (the main one, subgraphs of If/Loop/Scan, functions, training steps) and their tensors.</summary>
internal static class OnnxGraphWalk
{
    public static IEnumerable<TensorProto> Tensors(ModelProto model)
    {
        foreach (var node in Nodes(model))
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.T is not null)
                {
                    yield return attribute.T;
                }
                foreach (var tensor in attribute.Tensors)
                {
                    yield return tensor;
                }
            }
        }
        foreach (var graph in Graphs(model))
        {
            foreach (var tensor in graph.Initializer)
            {
                yield return tensor;
            }
            foreach (var sparse in graph.SparseInitializer)
            {
                if (sparse.Values is not null)
                {
                    yield return sparse.Values;
                }
                if (sparse.Indices is not null)
                {
                    yield return sparse.Indices;
                }
            }
        }
    }

    /// <summary>Every node of every graph and function, subgraphs included.</summary>
    public static IEnumerable<NodeProto> Nodes(ModelProto model)
    {
        foreach (var graph in Graphs(model))
        {
            foreach (var node in graph.Node)
            {
                yield return node;
            }
        }
        foreach (var function in model.Functions)
        {
            foreach (var node in function.Node)
            {
                yield return node;
            }
        }
    }

    private static IEnumerable<GraphProto> Graphs(ModelProto model)
    {
        var pending = new Stack<GraphProto>();
        if (model.Graph is not null)
        {
            pending.Push(model.Graph);
        }
        foreach (var training in model.TrainingInfo)
        {
            if (training.Initialization is not null)
            {
                pending.Push(training.Initialization);
            }
            if (training.Algorithm is not null)
            {
                pending.Push(training.Algorithm);
            }
        }
        foreach (var function in model.Functions)
        {
            PushSubgraphs(function.Node, pending);
        }
        while (pending.Count > 0)
        {
            var graph = pending.Pop();
            yield return graph;
            PushSubgraphs(graph.Node, pending);
        }
    }

    private static void PushSubgraphs(IEnumerable<NodeProto> nodes, Stack<GraphProto> pending)
    {
        foreach (var node in nodes)
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null)
                {
                    pending.Push(attribute.G);
                }
                foreach (var graph in attribute.Graphs)
                {
                    pending.Push(graph);
                }
            }
        }
    }
}

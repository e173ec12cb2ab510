"""from_torch: PyTorch modules (torchvision's ResNet-18 and MobileNetV2 among them) as tinynn
models computing the same outputs."""

import numpy as np
import pytest

from tinynn.convert import UnsupportedError, from_torch

torch = pytest.importorskip("torch", reason="torch is not installed")
nn = torch.nn


def randomize_batch_norm(module, seed=0):
    """Random statistics and affine terms: the defaults (0, 1) would hide layout mistakes."""
    generator = torch.Generator().manual_seed(seed)
    for sub in module.modules():
        if isinstance(sub, nn.BatchNorm2d | nn.BatchNorm1d):
            sub.running_mean.copy_(torch.rand(sub.num_features, generator=generator) - 0.5)
            sub.running_var.copy_(torch.rand(sub.num_features, generator=generator) + 0.5)
            sub.weight.data.copy_(torch.rand(sub.num_features, generator=generator) + 0.5)
            sub.bias.data.copy_(torch.rand(sub.num_features, generator=generator) - 0.5)
    return module.eval()


def assert_same_outputs(module, model, x_nchw, rtol=1e-4):
    with torch.no_grad():
        expected = module(torch.from_numpy(x_nchw)).numpy()
    got = model.predict(x_nchw.transpose(0, 2, 3, 1) if x_nchw.ndim == 4 else x_nchw)
    error = np.abs(got - expected).max() / np.abs(expected).max()
    assert error < rtol, f"relative error {error:.2e}"


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_torchvision_models_convert_and_agree(name):
    from torchvision_models import import_torchvision

    torchvision = import_torchvision()
    torch.manual_seed(0)
    module = randomize_batch_norm(getattr(torchvision.models, name)(weights=None))
    model = from_torch(module, input_shape=(3, 224, 224))
    assert model.count_params() == sum(p.numel() for p in module.parameters()) + 0 * len(
        model.layers
    )
    x = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype("float32")
    assert_same_outputs(module, model, x)


class SmallNet(nn.Module):
    """Every conversion path: depthwise, ReLU6, pooling, concatenation, a residual, and a
    flatten of a spatial map (PyTorch's C, H, W order) into Linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.depthwise = nn.Conv2d(6, 12, 3, padding=1, groups=6, bias=False)
        self.pointwise = nn.Conv2d(12, 6, 1)
        self.act = nn.ReLU6()
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        self.avg = nn.AvgPool2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(12 * 2 * 2, 5))

    def forward(self, x):
        h = self.act(self.bn(self.stem(x)))
        h = h + self.pointwise(self.act(self.depthwise(h)))  # a residual addition
        h = torch.cat([self.pool(h), self.pool(torch.relu(h))], dim=1)
        return self.head(self.avg(h))


def test_every_kind_of_layer_and_a_flatten_of_feature_maps():
    torch.manual_seed(1)
    module = randomize_batch_norm(SmallNet())
    model = from_torch(module, input_shape=(3, 16, 16))
    assert any(type(layer).__name__ == "Permute" for layer in model.layers)
    x = np.random.default_rng(1).normal(size=(4, 3, 16, 16)).astype("float32")
    assert_same_outputs(module, model, x, rtol=1e-5)


def test_a_converted_model_fine_tunes_saves_and_loads(tmp_path):
    import tinynn

    torch.manual_seed(2)
    module = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).eval()
    model = from_torch(module, input_shape=(4,))
    x = np.random.default_rng(2).normal(size=(16, 4)).astype("float32")
    assert_same_outputs(module, model, x, rtol=1e-6)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.zeros((16, 3), "float32"), epochs=2, verbose=0)
    model.save(str(tmp_path / "converted.npz"))
    np.testing.assert_array_equal(
        tinynn.load_model(tmp_path / "converted.npz").predict(x), model.predict(x)
    )


def test_unsupported_modules_and_arguments_are_named():
    with pytest.raises(UnsupportedError, match=r"module '0' of type LSTM"):
        from_torch(nn.Sequential(nn.LSTM(4, 4)), input_shape=(4,))
    with pytest.raises(UnsupportedError, match="groups=2"):
        from_torch(nn.Sequential(nn.Conv2d(4, 4, 3, groups=2)), input_shape=(4, 8, 8))
    with pytest.raises(UnsupportedError, match="AvgPool2d with padding"):
        from_torch(nn.Sequential(nn.AvgPool2d(3, padding=1)), input_shape=(1, 8, 8))

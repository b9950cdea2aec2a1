#include "features/features.h"

#include <cmath>
#include <numeric>

#include "core/artifacts.h"
#include "core/hash.h"
#include "nets/adamw.h"
#include "nets/cnn.h"
#include "nets/threads.h"
#include "nets/torch_util.h"
#include "nets/torchscript.h"

namespace wmgeom {

namespace {

using nets::BuiltinCnn;

struct Curves {
  std::vector<float> loss;
  std::vector<float> train_acc;  // [epoch][head] flattened, heads: category, identity, location
  std::vector<float> val_acc;
};

nets::CnnConfig cnn_config(const FeaturesSettings& settings, const StimulusSet& s) {
  nets::CnnConfig c;
  c.input_size = settings.input_size > 0 ? settings.input_size : static_cast<int>(s.images.dim(2));
  c.width = settings.width;
  c.blocks = settings.blocks;
  c.categories = static_cast<int>(s.category_names.size());
  c.identities = static_cast<int>(s.identity_names.size());
  c.locations = s.n_locations;
  return c;
}

std::vector<std::int64_t> indices_of_split(const StimulusSet& s, std::int32_t split) {
  std::vector<std::int64_t> out;
  auto v = s.split.values<std::int32_t>();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == split) out.push_back(static_cast<std::int64_t>(i));
  }
  return out;
}

// Per-sample random shifts (zero padding, then a crop) and brightness.
torch::Tensor augment(const torch::Tensor& x_unit, int shift, double brightness,
                      at::Generator& gen) {
  torch::Tensor x = x_unit;
  std::int64_t b = x.size(0);
  if (brightness > 0) {
    torch::Tensor scale =
        torch::empty({b, 1, 1, 1}).uniform_(1.0 - brightness, 1.0 + brightness, gen);
    x = (x * scale).clamp_(0.0, 1.0);
  }
  if (shift > 0) {
    std::int64_t s = x.size(2);
    torch::Tensor padded = torch::constant_pad_nd(x, {shift, shift, shift, shift}, 0.0);
    torch::Tensor offs = torch::randint(0, 2 * shift + 1, {b, 2}, gen, torch::kLong);
    std::vector<torch::Tensor> crops;
    crops.reserve(static_cast<std::size_t>(b));
    auto o = offs.accessor<std::int64_t, 2>();
    for (std::int64_t i = 0; i < b; ++i) {
      crops.push_back(padded[i].narrow(1, o[i][0], s).narrow(2, o[i][1], s));
    }
    x = torch::stack(crops);
  }
  return x;
}

std::vector<float> head_accuracy(BuiltinCnn& cnn, const torch::Tensor& x,
                                 const torch::Tensor& y_cat, const torch::Tensor& y_id,
                                 const torch::Tensor& y_loc, int batch) {
  torch::NoGradGuard no_grad;
  cnn->eval();
  std::int64_t n = x.size(0);
  std::vector<double> correct(3, 0.0);
  for (std::int64_t i = 0; i < n; i += batch) {
    std::int64_t len = std::min<std::int64_t>(batch, n - i);
    auto h = cnn->heads(cnn->features(x.narrow(0, i, len)));
    correct[0] += h.category.argmax(1).eq(y_cat.narrow(0, i, len)).sum().item<double>();
    correct[1] += h.identity.argmax(1).eq(y_id.narrow(0, i, len)).sum().item<double>();
    correct[2] += h.location.argmax(1).eq(y_loc.narrow(0, i, len)).sum().item<double>();
  }
  std::vector<float> acc;
  for (double c : correct)
    acc.push_back(n > 0 ? static_cast<float>(c / static_cast<double>(n)) : 0.0f);
  return acc;
}

// Trains the built-in CNN on the training split (three heads, summed
// cross-entropy, AdamW with cosine decay), reporting held-out accuracy.
Curves train_builtin(BuiltinCnn& cnn, const StimulusSet& s, const torch::Tensor& x_unit,
                     const FeaturesSettings& settings, const torch::Device& device,
                     at::Generator& gen, RunContext& ctx, std::int64_t& done, std::int64_t total) {
  Curves curves;
  auto train_idx = indices_of_split(s, kSplitTrain);
  auto val_idx = indices_of_split(s, kSplitValidation);
  if (train_idx.empty())
    throw InputError("features: the stimulus set has no training-split images to train the CNN on");
  auto labels = [&](const Array& a) { return nets::view(a).to(torch::kLong); };
  torch::Tensor y_cat = labels(s.category), y_id = labels(s.identity), y_loc = labels(s.location);
  torch::Tensor tr = torch::tensor(train_idx, torch::kLong),
                va = torch::tensor(val_idx, torch::kLong);
  const std::string& normalize = settings.normalize;
  torch::Tensor x_val = nets::normalize_images(x_unit.index_select(0, va), normalize).to(device);
  torch::Tensor x_tr_eval =
      nets::normalize_images(x_unit.index_select(0, tr), normalize).to(device);

  nets::MultiTensorAdamW opt(cnn->parameters(),
                             {.lr = settings.lr, .weight_decay = settings.weight_decay});
  const int epochs = settings.epochs, batch = settings.batch_size, shift = settings.shift;
  const double brightness = settings.brightness;
  std::int64_t n = tr.size(0);
  std::int64_t steps_per_epoch = (n + batch - 1) / batch;
  std::int64_t total_steps = std::max<std::int64_t>(1, steps_per_epoch * epochs);
  std::int64_t step = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    cnn->train();
    torch::Tensor order = tr.index_select(0, torch::randperm(n, gen, torch::kLong));
    double loss_sum = 0;
    for (std::int64_t i = 0; i < n; i += batch) {
      ctx.check_cancelled();
      double lr =
          settings.lr * 0.5 *
          (1.0 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total_steps)));
      opt.set_lr(lr);
      torch::Tensor idx = order.narrow(0, i, std::min<std::int64_t>(batch, n - i));
      torch::Tensor xb =
          nets::normalize_images(augment(x_unit.index_select(0, idx), shift, brightness, gen),
                                 normalize)
              .to(device);
      auto h = cnn->heads(cnn->features(xb));
      torch::Tensor loss =
          torch::nn::functional::cross_entropy(h.category, y_cat.index_select(0, idx).to(device)) +
          torch::nn::functional::cross_entropy(h.identity, y_id.index_select(0, idx).to(device)) +
          torch::nn::functional::cross_entropy(h.location, y_loc.index_select(0, idx).to(device));
      opt.zero_grad();
      loss.backward();
      opt.step();
      if (!std::isfinite(loss.item<double>())) {
        throw Error("built-in CNN training diverged (loss " + std::to_string(loss.item<double>()) +
                    " at epoch " + std::to_string(epoch) + "); lower lr");
      }
      loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
      ++step;
      done += idx.size(0);
      ctx.progress(done, total);
    }
    curves.loss.push_back(static_cast<float>(loss_sum / static_cast<double>(n)));
    auto ta = head_accuracy(cnn, x_tr_eval, y_cat.index_select(0, tr).to(device),
                            y_id.index_select(0, tr).to(device),
                            y_loc.index_select(0, tr).to(device), 256);
    auto vacc = val_idx.empty() ? std::vector<float>{NAN, NAN, NAN}
                                : head_accuracy(cnn, x_val, y_cat.index_select(0, va).to(device),
                                                y_id.index_select(0, va).to(device),
                                                y_loc.index_select(0, va).to(device), 256);
    curves.train_acc.insert(curves.train_acc.end(), ta.begin(), ta.end());
    curves.val_acc.insert(curves.val_acc.end(), vacc.begin(), vacc.end());
    ctx.info("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs) + ": loss " +
             std::to_string(curves.loss.back()) +
             ", held-out accuracy category/identity/location " + std::to_string(vacc[0]) + "/" +
             std::to_string(vacc[1]) + "/" + std::to_string(vacc[2]));
  }
  return curves;
}

Array curve_array(const std::vector<float>& v, std::int64_t cols) {
  Array a = Array::zeros<float>(
      cols > 1 ? std::vector<std::int64_t>{static_cast<std::int64_t>(v.size()) / cols, cols}
               : std::vector<std::int64_t>{static_cast<std::int64_t>(v.size())});
  std::copy(v.begin(), v.end(), a.data<float>());
  return a;
}

std::string weights_hash(torch::nn::Module& m) {
  std::string all;
  for (const auto& t : m.parameters()) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    all += hash64_hex({static_cast<const std::byte*>(c.data_ptr()), c.nbytes()});
  }
  for (const auto& t : m.buffers()) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    all += hash64_hex({static_cast<const std::byte*>(c.data_ptr()), c.nbytes()});
  }
  return hash128_hex(all);
}

using Model = FeatureModel;

}  // namespace

void FeaturesStage::check(const FeaturesSettings& settings, ParamIssues& issues) const {
  const Model model = settings.model;
  if (model == Model::kTorchScript) {
    if (settings.path.empty()) {
      issues.error("path",
                   "model = \"torchscript\" needs path = \"FILE.pt\" (a TorchScript module)");
    } else {
      try {
        nets::ScriptedExtractor probe(settings.path, settings.layer);
      } catch (const InputError& e) {
        issues.error(settings.layer.empty() ? "path" : "layer", e.what());
      }
    }
  } else if (!settings.path.empty() || !settings.layer.empty()) {
    issues.error(settings.path.empty() ? "layer" : "path",
                 "path and layer apply only to model = \"torchscript\"");
  }
  if (model == Model::kBuiltin && settings.epochs == 0) {
    issues.error(
        "epochs",
        "the built-in CNN needs epochs >= 1 (for untrained weights use model = \"random\")");
  }
}

// The width it trains at (hashed: `threads`; fixed when the built-in CNN
// trains here, and only a wish at inference, whose bank does not depend on
// it); 4 GB covers the built-in CNN at 112 px with its batch and a bank of
// thousands of images; an hour covers 30 epochs of the paper's 384 images
// many times over.
Resources FeaturesStage::resources_of(const FeaturesSettings& settings) const {
  Resources r;
  r.cpus = settings.threads;
  r.fixed_width = settings.model == Model::kBuiltin && settings.epochs > 0;
  r.mem_mb = 4000;
  r.minutes = 60;
  return r;
}

SizeEstimate FeaturesStage::estimate_of(const FeaturesSettings& settings,
                                        const EstimateInputs& inputs) const {
  const auto it = inputs.find("stimuli");
  if (it == inputs.end() || it->second.empty() || !it->second.front().known) return {};
  const SizeEstimate& stim = it->second.front();
  if (settings.model == Model::kTorchScript) return {};
  const std::int64_t n = stim.dim("stimuli"), image = stim.dim("image_size");
  if (n < 0 || image < 0) return {};
  const std::int64_t in = settings.input_size > 0 ? settings.input_size : image;
  const std::int64_t blocks = settings.blocks;
  std::int64_t side = in;
  for (std::int64_t b = 0; b < blocks + 1; ++b) side = (side + 1) / 2;
  const std::int64_t channels = static_cast<std::int64_t>(settings.width) << (blocks - 1);
  const std::int64_t element = settings.float16 ? 2 : 4;
  const std::int64_t batch = std::max(settings.batch_size, settings.inference_batch);
  SizeEstimate e;
  e.known = true;
  e.bytes = n * channels * side * side * element;
  e.working = n * 3 * in * in * 4 + batch * 3 * in * in * 4 * 16;
  e.dims = {{"stimuli", n}, {"channels", channels}, {"area", side * side}};
  return e;
}

Artifact FeaturesStage::compute(const FeaturesSettings& settings, const StageInputs& inputs,
                                RunContext& ctx) const {
  StimulusSet s = inputs.get<StimulusSet>("stimuli");
  nets::IntraOpThreads width(ctx.threads());
  torch::Device device = nets::resolve_device(settings.device);
  const Model model = settings.model;
  const std::int64_t n = s.size();
  const int infer_batch = settings.inference_batch;
  auto gen = nets::make_generator(settings.seed);
  const int size =
      settings.input_size > 0 ? settings.input_size : static_cast<int>(s.images.dim(2));

  // Resize once, in [0, 1]; normalisation comes after augmentation.
  torch::Tensor x_unit;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    torch::Tensor images = nets::view(s.images);
    for (std::int64_t i = 0; i < n; i += 256) {
      parts.push_back(nets::prepare_images(images.narrow(0, i, std::min<std::int64_t>(256, n - i)),
                                           size, "unit"));
    }
    x_unit = parts.empty() ? torch::empty({0, 3, size, size}) : torch::cat(parts);
  }

  FeatureBank bank;
  std::int64_t done = 0;
  std::int64_t train_items =
      model == Model::kBuiltin
          ? settings.epochs * static_cast<std::int64_t>(indices_of_split(s, kSplitTrain).size())
          : 0;
  std::int64_t total = train_items + n;
  std::function<torch::Tensor(const torch::Tensor&)> extract;
  BuiltinCnn cnn{nullptr};
  std::unique_ptr<nets::ScriptedExtractor> scripted;
  if (model != Model::kTorchScript) {
    nets::CnnConfig cfg = cnn_config(settings, s);
    cnn = BuiltinCnn(cfg);
    cnn->initialise(gen);
    cnn->to(device);
    if (model == Model::kBuiltin) {
      nets::IntraOpThreads training_width(settings.threads);  // hashed: see the schema
      if (const auto note = nets::width_note(settings.threads); !note.empty()) ctx.info(note);
      Curves c = train_builtin(cnn, s, x_unit, settings, device, gen, ctx, done, total);
      bank.extra["train_loss"] = curve_array(c.loss, 1);
      bank.extra["train_accuracy"] = curve_array(c.train_acc, 3);
      bank.extra["heldout_accuracy"] = curve_array(c.val_acc, 3);
    }
    cnn->eval();
    extract = [&](const torch::Tensor& x) { return cnn->features(x); };
    bank.extractor = {{"model", settings.model_name},
                      {"architecture", "resnet-compact"},
                      {"width", cfg.width},
                      {"blocks", cfg.blocks},
                      {"layer", "stages." + std::to_string(cfg.blocks - 1)},
                      {"weights_hash", weights_hash(*cnn)},
                      {"heads", {"category", "identity", "location"}}};
  } else {
    scripted = std::make_unique<nets::ScriptedExtractor>(settings.path, settings.layer);
    scripted->to(device);
    extract = [&](const torch::Tensor& x) { return scripted->forward(x); };
    bank.extractor = {{"model", "torchscript"},
                      {"layer", settings.layer},
                      {"weights_hash", hash_path_content(settings.path)}};
  }
  bank.extractor["input_size"] = size;
  bank.extractor["normalize"] = settings.normalize;

  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> outs;
  const torch::ScalarType dtype = settings.float16 ? torch::kHalf : torch::kFloat32;
  for (std::int64_t i = 0; i < n; i += infer_batch) {
    ctx.check_cancelled();
    std::int64_t len = std::min<std::int64_t>(infer_batch, n - i);
    // A batch of one takes another path through LibTorch's kernels (other
    // last bits, up to 2e-6: the 2026-12-07 audit), so the bank would depend
    // on the unhashed inference_batch; it runs as two copies of the image,
    // the first row kept (the rows of batches of 2 or more are identical:
    // Features.TheBankDoesNotDependOnTheInferenceBatch).
    torch::Tensor batch = x_unit.narrow(0, i, len);
    if (len == 1) batch = torch::cat({batch, batch});
    torch::Tensor y = extract(nets::normalize_images(batch, settings.normalize).to(device));
    if (len == 1) y = y.narrow(0, 0, 1);
    if (y.dim() == 2) y = y.unsqueeze(-1).unsqueeze(-1);  // vectors become [C, 1, 1] maps
    if (y.dim() != 4) {
      throw InputError("features: the model's output has shape " + std::to_string(y.dim()) +
                       "-D; expected a feature map [B, C, h, w] or vectors [B, C]");
    }
    outs.push_back(y.to(torch::kCPU, dtype));
    done += len;
    ctx.progress(done, total);
  }
  bank.features = nets::to_array(outs.empty() ? torch::empty({0, 1, 1, 1}) : torch::cat(outs));
  ctx.set_items(n);
  return bank.to_artifact();
}

}  // namespace wmgeom

import type { Rng } from '../common/random.js';

/**
 * A shop department: its price level, the department complementary items usually come from, and the words its
 * products are named and described with (faker's commerce names ignore the department: "Tasty Ceramic Soap"
 * in Shoes).
 */
export interface Department {
  name: string;
  priceLevel: number;
  partner?: string;
  /** What the department sells (the last word of a product name). */
  items: string[];
  /** What its products are like (the words before): each must fit every item of the department. */
  qualities: string[];
  /** Selling points for descriptions. */
  features: string[];
}

/** Realistic shop departments with their vocabularies. */
export const DEPARTMENTS: Department[] = [
  {
    name: 'Electronics',
    priceLevel: 180,
    partner: 'Electronics Accessories',
    items: ['Headphones', 'Bluetooth Speaker', 'Smart TV', 'Soundbar', 'Action Camera', 'E-Reader', 'Smartwatch', 'Tablet', 'Earbuds', 'Projector'],
    qualities: ['Wireless', 'Portable', 'Compact', 'Smart', 'Premium', 'Lightweight', 'Next-Gen', 'Slim'],
    features: ['long battery life', 'fast pairing with your phone', 'crisp sound and deep bass', 'a bright, sharp display', 'voice assistant support'],
  },
  {
    name: 'Electronics Accessories',
    priceLevel: 25,
    partner: 'Electronics',
    items: ['USB-C Cable', 'Phone Case', 'Screen Protector', 'Power Bank', 'Wall Charger', 'Car Mount', 'HDMI Cable', 'Wireless Charger'],
    qualities: ['Braided', 'Fast-Charging', 'Slim', 'Shockproof', 'Magnetic', '2-Pack', 'Universal'],
    features: ['a snug fit', 'fast charging up to 65 W', 'drop protection', 'a tangle-free braided jacket', 'a travel-friendly size'],
  },
  {
    name: 'Computers',
    priceLevel: 450,
    partner: 'Computer Peripherals',
    items: ['Laptop', 'Desktop PC', 'Chromebook', 'Mini PC', 'Gaming Laptop', 'All-in-One PC', 'Ultrabook', 'Workstation'],
    qualities: ['Lightweight', 'High-Performance', 'Business', 'Compact', 'Everyday', 'Pro', 'Quiet'],
    features: ['a fast SSD', '16 GB of memory', 'all-day battery life', 'a backlit keyboard', 'a high-refresh display'],
  },
  {
    name: 'Computer Peripherals',
    priceLevel: 45,
    partner: 'Computers',
    items: ['Keyboard', 'Mouse', 'Webcam', 'Monitor Stand', 'USB Hub', 'Headset', 'Mouse Pad', 'External SSD'],
    qualities: ['Mechanical', 'Ergonomic', 'Wireless', 'RGB', 'Full HD', 'Compact', 'Silent'],
    features: ['plug-and-play setup', 'a comfortable grip', 'adjustable height', 'programmable keys', 'a clear 1080p picture'],
  },
  {
    name: 'Books',
    priceLevel: 16,
    partner: 'Stationery',
    items: ['Novel', 'Cookbook', 'Biography', 'Travel Guide', 'Thriller', 'Poetry Collection', 'History Book', "Children's Picture Book"],
    qualities: ['Bestselling', 'Illustrated', 'Paperback', 'Hardcover', 'Award-Winning', 'Classic', 'Annotated'],
    features: ['a gripping story', 'beautiful illustrations', 'recipes for every day', 'an engaging introduction to its subject', 'a foreword by the author'],
  },
  {
    name: 'Stationery',
    priceLevel: 8,
    partner: 'Books',
    items: ['Notebook', 'Gel Pen Set', 'Planner', 'Sticky Notes', 'Fountain Pen', 'Highlighters', 'Sketchbook', 'Pencil Case'],
    qualities: ['Dotted', 'A5', 'Refillable', 'Pastel', 'Recycled', 'Undated', 'Premium'],
    features: ['thick paper that does not bleed', 'smooth, quick-drying ink', 'a lay-flat binding', 'vivid colours', 'a pocket-friendly size'],
  },
  {
    name: 'Clothing',
    priceLevel: 35,
    partner: 'Shoes',
    items: ['T-Shirt', 'Hoodie', 'Jeans', 'Summer Dress', 'Rain Jacket', 'Sweater', 'Chinos', 'Polo Shirt'],
    qualities: ["Men's", "Women's", 'Slim-Fit', 'Organic Cotton', 'Merino Wool', 'Relaxed-Fit', 'Stretch'],
    features: ['soft, breathable fabric', 'a flattering cut', 'machine-washable care', 'reinforced seams', 'colours that last wash after wash'],
  },
  {
    name: 'Shoes',
    priceLevel: 70,
    partner: 'Clothing',
    items: ['Running Shoes', 'Sneakers', 'Leather Boots', 'Sandals', 'Loafers', 'Hiking Boots', 'Slippers', 'Trail Runners'],
    qualities: ["Men's", "Women's", 'Lightweight', 'Waterproof', 'Cushioned', 'Suede', 'Slip-On'],
    features: ['a cushioned midsole', 'a grippy rubber outsole', 'a breathable mesh upper', 'all-day comfort', 'a true-to-size fit'],
  },
  {
    name: 'Home & Kitchen',
    priceLevel: 40,
    partner: 'Grocery',
    items: ['Chef Knife', 'Frying Pan', 'Coffee Maker', 'Blender', 'Cutting Board', 'Dinnerware Set', 'Toaster', 'Food Storage Containers'],
    qualities: ['Stainless Steel', 'Premium', 'Everyday', 'Dishwasher-Safe', 'Compact', 'Professional', 'Classic'],
    features: ['even heat distribution', 'easy cleaning', 'a comfortable handle', 'everyday durability', 'a space-saving design'],
  },
  {
    name: 'Grocery',
    priceLevel: 7,
    partner: 'Home & Kitchen',
    items: ['Ground Coffee', 'Green Tea', 'Olive Oil', 'Dark Chocolate', 'Granola', 'Pasta', 'Honey', 'Mixed Nuts'],
    qualities: ['Organic', 'Fair-Trade', 'Gluten-Free', 'Family-Size', 'Artisan', 'Premium', 'Everyday'],
    features: ['rich, full flavour', 'sustainably sourced ingredients', 'a resealable pack', 'no artificial additives', 'a pantry favourite'],
  },
  {
    name: 'Sports & Outdoors',
    priceLevel: 55,
    partner: 'Health & Fitness',
    items: ['Tent', 'Sleeping Bag', 'Backpack', 'Water Bottle', 'Bicycle Helmet', 'Camping Chair', 'Headlamp', 'Trekking Poles'],
    qualities: ['2-Person', 'Ultralight', 'Insulated', 'Waterproof', 'Foldable', 'All-Season', 'Rechargeable'],
    features: ['quick setup', 'weather-resistant materials', 'a carry bag', 'a durable frame', 'comfort on long trips'],
  },
  {
    name: 'Health & Fitness',
    priceLevel: 30,
    partner: 'Sports & Outdoors',
    items: ['Yoga Mat', 'Dumbbell Set', 'Resistance Bands', 'Foam Roller', 'Jump Rope', 'Kettlebell', 'Protein Shaker', 'Fitness Tracker'],
    qualities: ['Non-Slip', 'Adjustable', 'Extra-Thick', 'Eco-Friendly', 'Heavy-Duty', 'Compact', 'Beginner'],
    features: ['a secure grip', 'joint-friendly cushioning', 'easy storage', 'sturdy construction', 'workouts at home or at the gym'],
  },
  {
    name: 'Beauty',
    priceLevel: 22,
    partner: 'Personal Care',
    items: ['Lipstick', 'Mascara', 'Foundation', 'Eyeshadow Palette', 'Face Serum', 'Moisturiser', 'Perfume', 'Nail Polish'],
    qualities: ['Long-Lasting', 'Matte', 'Hydrating', 'Vegan', 'Fragrance-Free', 'Waterproof', 'Vitamin C'],
    features: ['a lightweight feel', 'buildable coverage', 'a formula for sensitive skin', 'a radiant finish', 'cruelty-free ingredients'],
  },
  {
    name: 'Personal Care',
    priceLevel: 12,
    partner: 'Beauty',
    items: ['Shampoo', 'Toothpaste', 'Electric Toothbrush', 'Body Wash', 'Deodorant', 'Razor', 'Hand Cream', 'Conditioner'],
    qualities: ['Sensitive', 'Whitening', 'Sulfate-Free', 'Travel-Size', 'Rechargeable', 'Natural', 'Refreshing'],
    features: ['a gentle formula', 'a fresh scent', 'dermatologist-tested ingredients', 'a long-lasting effect', 'a recyclable bottle'],
  },
  {
    name: 'Toys & Games',
    priceLevel: 28,
    partner: 'Baby',
    items: ['Building Blocks', 'Board Game', 'Jigsaw Puzzle', 'Plush Bear', 'Remote-Control Car', 'Card Game', 'Doll House', 'Science Kit'],
    qualities: ['1000-Piece', 'Family', 'Educational', 'Wooden', 'Cooperative', 'Classic', 'STEM'],
    features: ['hours of fun', 'easy rules for ages 8 and up', 'sturdy, child-safe parts', 'play for the whole family', 'creative problem solving'],
  },
  {
    name: 'Baby',
    priceLevel: 25,
    partner: 'Toys & Games',
    items: ['Baby Bottle', 'Pacifier', 'Baby Carrier', 'Swaddle Blanket', 'Diaper Bag', 'Teething Toy', 'Bib Set', 'Baby Monitor'],
    qualities: ['BPA-Free', 'Organic Cotton', 'Anti-Colic', 'Soft', 'Ergonomic', 'Newborn', 'Washable'],
    features: ['gentle materials for delicate skin', 'easy one-hand use', 'pediatrician-recommended design', 'quick cleaning', 'calm nights'],
  },
  {
    name: 'Garden',
    priceLevel: 38,
    partner: 'Tools & Home Improvement',
    items: ['Garden Hose', 'Pruning Shears', 'Planter', 'Seed Starter Kit', 'Watering Can', 'Garden Gloves', 'Solar Path Lights', 'Bird Feeder'],
    qualities: ['Expandable', 'Ceramic', 'Frost-Proof', 'Heavy-Duty', 'Solar-Powered', 'Galvanised', 'Self-Watering'],
    features: ['weather-resistant build', 'easy watering', 'a clean, precise cut', 'a tidy garden all season', 'simple installation'],
  },
  {
    name: 'Tools & Home Improvement',
    priceLevel: 60,
    partner: 'Garden',
    items: ['Cordless Drill', 'Screwdriver Set', 'Tape Measure', 'Stud Finder', 'Toolbox', 'Work Light', 'Socket Set', 'Laser Level'],
    qualities: ['18V', 'Brushless', 'Magnetic', 'Professional', '45-Piece', 'Compact', 'Rechargeable'],
    features: ['plenty of torque', 'a carrying case', 'precise measurements', 'a long-lasting battery', 'tough, job-site construction'],
  },
  {
    name: 'Automotive',
    priceLevel: 45,
    items: ['Dash Cam', 'Car Vacuum', 'Jump Starter', 'Tyre Inflator', 'Seat Covers', 'Floor Mats', 'Phone Holder', 'Wiper Blades'],
    qualities: ['Portable', 'Universal', 'All-Weather', 'Cordless', 'Heavy-Duty', 'Front and Rear', 'Digital'],
    features: ['fits most cars', 'a quick, tool-free install', 'reliable starts in the cold', 'a clear night view', 'easy cleaning'],
  },
  {
    name: 'Pet Supplies',
    priceLevel: 20,
    items: ['Dog Bed', 'Cat Tree', 'Dog Leash', 'Cat Litter', 'Chew Toy', 'Pet Fountain', 'Dry Dog Food', 'Grooming Brush'],
    qualities: ['Orthopedic', 'Clumping', 'Reflective', 'Grain-Free', 'Durable', 'Washable', 'Large'],
    features: ['comfort for pets of every size', 'easy cleaning', 'vet-approved materials', 'tough, chew-resistant build', 'happy, healthy pets'],
  },
  {
    name: 'Music',
    priceLevel: 15,
    partner: 'Musical Instruments',
    items: ['Vinyl Record', 'Jazz Album', 'Greatest Hits CD', 'Film Soundtrack', 'Live Album', 'Box Set', 'Classical Collection', 'Debut Album'],
    qualities: ['Remastered', 'Limited Edition', 'Deluxe', '180-Gram', 'Anniversary', 'Signed', 'Collector’s'],
    features: ['bonus tracks', 'rich, warm sound', 'liner notes and photos', 'a gatefold sleeve', 'songs that defined a decade'],
  },
  {
    name: 'Musical Instruments',
    priceLevel: 220,
    partner: 'Music',
    items: ['Acoustic Guitar', 'Digital Piano', 'Ukulele', 'Drum Kit', 'Violin', 'Electric Guitar', 'Keyboard Stand', 'Microphone'],
    qualities: ['Beginner', 'Full-Size', '88-Key', 'Studio', 'Solid Spruce', 'Electric-Acoustic', 'Weighted'],
    features: ['a rich, balanced tone', 'a comfortable neck', 'easy tuning', 'a gig bag', 'great action for learning'],
  },
  {
    name: 'Movies & TV',
    priceLevel: 14,
    items: ['Blu-ray', 'DVD Box Set', 'Documentary', 'Animated Film', 'Complete Series', 'Director’s Cut', 'Trilogy', 'Concert Film'],
    qualities: ['4K Ultra HD', 'Collector’s Edition', 'Remastered', 'Special Edition', 'Extended', 'Restored', 'Steelbook'],
    features: ['hours of bonus material', 'a crisp, restored picture', 'immersive surround sound', 'every episode', "the director's commentary"],
  },
  {
    name: 'Video Games',
    priceLevel: 50,
    partner: 'Electronics',
    items: ['Racing Game', 'RPG', 'Game Controller', 'Gaming Headset', 'Puzzle Game', 'Sports Game', 'Adventure Game', 'Console Stand'],
    qualities: ['Open-World', 'Multiplayer', 'Wireless', 'Deluxe Edition', 'Co-op', 'Next-Gen', 'Award-Winning'],
    features: ['stunning graphics', 'hours of gameplay', 'online multiplayer', 'precise, responsive controls', 'a story you will not forget'],
  },
  {
    name: 'Jewelry',
    priceLevel: 90,
    partner: 'Watches',
    items: ['Necklace', 'Earrings', 'Bracelet', 'Ring', 'Pendant', 'Anklet', 'Charm', 'Brooch'],
    qualities: ['Sterling Silver', '14K Gold', 'Rose Gold', 'Pearl', 'Minimalist', 'Hypoallergenic', 'Handmade'],
    features: ['a gift box', 'a polished, lasting shine', 'a delicate design', 'skin-friendly metals', 'an adjustable length'],
  },
  {
    name: 'Watches',
    priceLevel: 150,
    partner: 'Jewelry',
    items: ['Chronograph', 'Dive Watch', 'Dress Watch', 'Field Watch', 'Automatic Watch', 'Digital Watch', 'Watch Strap', 'Watch Winder'],
    qualities: ['Stainless Steel', 'Leather', 'Sapphire', 'Solar', 'Water-Resistant', 'Classic', 'Titanium'],
    features: ['scratch-resistant glass', 'water resistance to 100 m', 'a precise movement', 'a comfortable strap', 'timeless style'],
  },
  {
    name: 'Office Products',
    priceLevel: 24,
    partner: 'Stationery',
    items: ['Desk Organiser', 'Stapler', 'Label Maker', 'Paper Shredder', 'Whiteboard', 'File Folders', 'Desk Lamp', 'Printer Paper'],
    qualities: ['Heavy-Duty', 'Magnetic', 'LED', 'Cross-Cut', 'Ergonomic', 'Recycled', 'Bulk'],
    features: ['a tidy desk', 'quiet operation', 'everyday reliability', 'easy set-up', 'a professional look'],
  },
  {
    name: 'Furniture',
    priceLevel: 240,
    partner: 'Home & Kitchen',
    items: ['Sofa', 'Office Chair', 'Bookshelf', 'Coffee Table', 'Bed Frame', 'Dining Table', 'TV Stand', 'Wardrobe'],
    qualities: ['Mid-Century', 'Solid Oak', 'Upholstered', 'Ergonomic', 'Extendable', 'Scandinavian', 'Modular'],
    features: ['solid construction', 'easy assembly', 'generous storage', 'a timeless look', 'comfort for every day'],
  },
  {
    name: 'Luggage & Travel',
    priceLevel: 85,
    items: ['Carry-On Suitcase', 'Travel Backpack', 'Duffel Bag', 'Packing Cubes', 'Neck Pillow', 'Toiletry Bag', 'Luggage Scale', 'Passport Wallet'],
    qualities: ['Hardshell', 'Expandable', 'Lightweight', 'RFID-Blocking', 'Water-Resistant', 'Spinner', 'Cabin-Size'],
    features: ['smooth-rolling wheels', 'a TSA-approved lock', 'smart organisation', 'airline-friendly dimensions', 'durable, light materials'],
  },
  {
    name: 'Arts & Crafts',
    priceLevel: 18,
    partner: 'Stationery',
    items: ['Acrylic Paint Set', 'Watercolour Set', 'Canvas Panels', 'Knitting Yarn', 'Brush Set', 'Clay Kit', 'Embroidery Kit', 'Coloured Pencils'],
    qualities: ['Artist-Grade', '24-Colour', 'Beginner', 'Non-Toxic', 'Professional', 'Vibrant', 'Premium'],
    features: ['rich pigments', 'everything you need to start', 'smooth blending', 'easy clean-up', 'projects for all ages'],
  },
];

/** The department a category name belongs to: its own, or the longest one it extends ("Books 2" → Books). */
export function departmentOf(categoryName: string): Department | undefined {
  const exact = DEPARTMENTS.find((d) => d.name === categoryName);
  if (exact) return exact;
  return DEPARTMENTS.filter((d) => categoryName.startsWith(`${d.name} `)).sort((a, b) => b.name.length - a.name.length)[0];
}

/** A product name and description in the words of its department ("Wireless Headphones"). */
export function productText(department: Department, rng: Rng): { name: string; description: string } {
  const item = rng.pick(department.items);
  const [first, second] = rng.shuffle([...department.qualities]);
  const name = rng.chance(0.4) ? `${first} ${second} ${item}` : `${first} ${item}`;
  const [a, b] = rng.shuffle([...department.features]);
  const description = `${name}, with ${a} and ${b}. Part of our ${department.name} range.`;
  return { name, description };
}

/** A category's description from its department's words. */
export function categoryDescription(department: Department): string {
  return `${department.name}: ${department.items.slice(0, 4).join(', ').toLowerCase()} and more, chosen for ${department.features[0]}.`;
}
